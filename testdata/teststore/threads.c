/* threads: 8 threads at once stat, open and read store files many times, its
 * own binary and a file of another item, to exercise a launcher that
 * intercepts the system calls of a multi-threaded process. Every read of a
 * file must give the same bytes, so every thread computes the same checksum;
 * the output names the total and the checksums, which a test can compute
 * from the files. */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(HELLO_PATH) || !defined(SELF_PATH)
#error "compile with -DHELLO_PATH=\"<hello>/bin/hello\" -DSELF_PATH=\"<threads>/bin/threads\""
#endif

#define NTHREADS 8
#define ROUNDS 100
#define NFILES 2

static const char *const files[NFILES] = {SELF_PATH, HELLO_PATH};

struct result {
	long long bytes;
	uint64_t sum[NFILES];
	int failed;
};

/* All threads start reading together, so that their system calls overlap. */
static pthread_barrier_t start;

/* fnv1a is FNV-1a, 64 bits: Go's hash/fnv New64a gives the same. */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, ssize_t n) {
	for (ssize_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static int read_file(const char *path, uint64_t *sum, long long *bytes) {
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return -1;
	}
	unsigned char buf[8192];
	uint64_t h = UINT64_C(14695981039346656037);
	long long size = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		h = fnv1a(h, buf, n);
		size += n;
	}
	close(fd);
	if (n < 0) {
		perror(path);
		return -1;
	}
	if (size != st.st_size) {
		fprintf(stderr, "threads: read %lld bytes of %s, stat says %lld\n", size, path, (long long)st.st_size);
		return -1;
	}
	*sum = h;
	*bytes += size;
	return 0;
}

static void *reader(void *arg) {
	struct result *r = arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < ROUNDS; i++) {
		for (int f = 0; f < NFILES; f++) {
			uint64_t h;
			if (read_file(files[f], &h, &r->bytes) != 0) {
				r->failed = 1;
				return NULL;
			}
			if (i == 0)
				r->sum[f] = h;
			else if (h != r->sum[f]) {
				fprintf(stderr, "threads: %s changed between reads\n", files[f]);
				r->failed = 1;
				return NULL;
			}
		}
	}
	return NULL;
}

int main(void) {
	pthread_t tid[NTHREADS];
	struct result res[NTHREADS];
	memset(res, 0, sizeof res);
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		if (pthread_create(&tid[i], NULL, reader, &res[i]) != 0) {
			fprintf(stderr, "threads: pthread_create failed\n");
			return 1;
		}
	}
	long long total = 0;
	int failed = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(tid[i], NULL);
		failed |= res[i].failed;
		total += res[i].bytes;
	}
	for (int i = 1; i < NTHREADS && !failed; i++)
		for (int f = 0; f < NFILES; f++)
			if (res[i].sum[f] != res[0].sum[f]) {
				fprintf(stderr, "threads: threads 0 and %d read different bytes from %s\n", i, files[f]);
				failed = 1;
			}
	if (failed) {
		fprintf(stderr, "threads: a reader failed\n");
		return 1;
	}
	printf("threads ok %d threads %d rounds %lld bytes", NTHREADS, ROUNDS, total);
	for (int f = 0; f < NFILES; f++)
		printf(" %016" PRIx64, res[0].sum[f]);
	printf("\n");
	return 0;
}
