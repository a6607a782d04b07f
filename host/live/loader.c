/* The loader thread (see loader.h): a mutex-protected job list and result
   list, never touched by the audio thread. */

#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct Job {
  struct Job*      next;
  uint64_t         id;
  LiveModelRequest request;
} Job;

typedef struct Done {
  struct Done* next;
  LoadResult   result;
} Done;

struct Loader {
  LiveEngineConfig config;
  pthread_t        thread;
  pthread_mutex_t  lock;
  pthread_cond_t   wake;
  bool             quit;
  Job*             jobs; /* FIFO */
  Job**            jobs_tail;
  Done*            done; /* FIFO */
  Done**           done_tail;
  uint32_t         busy; /* jobs queued or running */
  int              pipe_fds[2];
};

static void*
run(void* const arg)
{
  Loader* const loader = (Loader*)arg;
  pthread_mutex_lock(&loader->lock);
  for (;;) {
    while (!loader->quit && !loader->jobs) {
      pthread_cond_wait(&loader->wake, &loader->lock);
    }
    if (loader->quit) {
      break;
    }
    Job* const job = loader->jobs;
    loader->jobs   = job->next;
    if (!loader->jobs) {
      loader->jobs_tail = &loader->jobs;
    }
    pthread_mutex_unlock(&loader->lock);

    Done* const done = (Done*)calloc(1, sizeof(Done));
    if (done) {
      done->result.id      = job->id;
      done->result.request = job->request;
      done->result.model   = live_model_load(&job->request, NULL,
                                             &loader->config,
                                             done->result.error,
                                             sizeof(done->result.error));
    }
    free(job);

    pthread_mutex_lock(&loader->lock);
    if (done) {
      *loader->done_tail = done;
      loader->done_tail  = &done->next;
    }
    --loader->busy;
    const char byte = 1;
    (void)!write(loader->pipe_fds[1], &byte, 1);
  }
  pthread_mutex_unlock(&loader->lock);
  return NULL;
}

Loader*
loader_new(const LiveEngineConfig* const config, char* const err,
           const size_t err_size)
{
  Loader* const loader = (Loader*)calloc(1, sizeof(Loader));
  if (!loader) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  loader->config    = *config;
  loader->jobs_tail = &loader->jobs;
  loader->done_tail = &loader->done;
  if (pipe(loader->pipe_fds) != 0) {
    snprintf(err, err_size, "cannot make a pipe: %s", strerror(errno));
    free(loader);
    return NULL;
  }
  for (int i = 0; i < 2; ++i) {
    fcntl(loader->pipe_fds[i], F_SETFL,
          fcntl(loader->pipe_fds[i], F_GETFL) | O_NONBLOCK);
    fcntl(loader->pipe_fds[i], F_SETFD, FD_CLOEXEC);
  }
  pthread_mutex_init(&loader->lock, NULL);
  pthread_cond_init(&loader->wake, NULL);

  /* The thread takes no signals: they go to the main loop. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const int status = pthread_create(&loader->thread, NULL, run, loader);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (status) {
    snprintf(err, err_size, "cannot start the loader thread: %s",
             strerror(status));
    pthread_mutex_destroy(&loader->lock);
    pthread_cond_destroy(&loader->wake);
    close(loader->pipe_fds[0]);
    close(loader->pipe_fds[1]);
    free(loader);
    return NULL;
  }
  return loader;
}

void
loader_free(Loader* const loader)
{
  if (!loader) {
    return;
  }
  pthread_mutex_lock(&loader->lock);
  loader->quit = true;
  pthread_cond_signal(&loader->wake);
  pthread_mutex_unlock(&loader->lock);
  pthread_join(loader->thread, NULL);

  while (loader->jobs) {
    Job* const next = loader->jobs->next;
    free(loader->jobs);
    loader->jobs = next;
  }
  while (loader->done) {
    Done* const next = loader->done->next;
    live_model_free(loader->done->result.model);
    free(loader->done);
    loader->done = next;
  }
  pthread_mutex_destroy(&loader->lock);
  pthread_cond_destroy(&loader->wake);
  close(loader->pipe_fds[0]);
  close(loader->pipe_fds[1]);
  free(loader);
}

bool
loader_request(Loader* const loader, const uint64_t id,
               const LiveModelRequest* const request)
{
  Job* const job = (Job*)calloc(1, sizeof(Job));
  if (!job) {
    return false;
  }
  job->id      = id;
  job->request = *request;
  pthread_mutex_lock(&loader->lock);
  *loader->jobs_tail = job;
  loader->jobs_tail  = &job->next;
  ++loader->busy;
  pthread_cond_signal(&loader->wake);
  pthread_mutex_unlock(&loader->lock);
  return true;
}

bool
loader_take_result(Loader* const loader, LoadResult* const result)
{
  char drain[64];
  while (read(loader->pipe_fds[0], drain, sizeof(drain)) > 0) {
  }
  pthread_mutex_lock(&loader->lock);
  Done* const done = loader->done;
  if (done) {
    loader->done = done->next;
    if (!loader->done) {
      loader->done_tail = &loader->done;
    }
  }
  pthread_mutex_unlock(&loader->lock);
  if (!done) {
    return false;
  }
  *result = done->result;
  free(done);
  return true;
}

int
loader_wake_fd(const Loader* const loader)
{
  return loader->pipe_fds[0];
}

uint32_t
loader_busy(Loader* const loader)
{
  pthread_mutex_lock(&loader->lock);
  const uint32_t busy = loader->busy;
  pthread_mutex_unlock(&loader->lock);
  return busy;
}
