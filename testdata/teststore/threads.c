/* threads: several threads open and read a store file at once, to exercise
 * a launcher that intercepts the system calls of a multi-threaded process. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#ifndef HELLO_PATH
#error "compile with -DHELLO_PATH=\"<store>/<hash>-hello/bin/hello\""
#endif

#define NTHREADS 8
#define ROUNDS 100

static void *reader(void *arg) {
	long long *total = arg;
	char buf[4096];
	for (int i = 0; i < ROUNDS; i++) {
		int fd = open(HELLO_PATH, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror("threads: open " HELLO_PATH);
			*total = -1;
			return NULL;
		}
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0)
			*total += n;
		close(fd);
		if (n < 0) {
			perror("threads: read " HELLO_PATH);
			*total = -1;
			return NULL;
		}
	}
	return NULL;
}

int main(void) {
	pthread_t tid[NTHREADS];
	long long counts[NTHREADS] = {0};
	for (int i = 0; i < NTHREADS; i++) {
		if (pthread_create(&tid[i], NULL, reader, &counts[i]) != 0) {
			fprintf(stderr, "threads: pthread_create failed\n");
			return 1;
		}
	}
	long long total = 0;
	int failed = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(tid[i], NULL);
		if (counts[i] < 0)
			failed = 1;
		total += counts[i];
	}
	if (failed) {
		fprintf(stderr, "threads: a reader failed\n");
		return 1;
	}
	printf("threads ok %lld\n", total);
	return 0;
}
