/* cwd: chdir into a store directory by its absolute path, then reach files by
 * relative paths and ask where it is, the ways programs do: getcwd, the
 * /proc/self/cwd link, realpath, chdir(".."), fchdir. A launcher that
 * rewrites paths must both resolve relative paths from the store directory
 * and show the store path, not its own, wherever the directory is named. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef DATA_DIR
#error "compile with -DDATA_DIR=\"<noref>/share\""
#endif

static int cwd(const char *label) {
	char buf[PATH_MAX];
	if (getcwd(buf, sizeof buf) == NULL) {
		perror("cwd: getcwd");
		return 1;
	}
	printf("%s: %s\n", label, buf);
	return 0;
}

static int cat(int dirfd, const char *path) {
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	char buf[256];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		perror(path);
		return 1;
	}
	buf[n] = '\0';
	printf("%s: %s", path, buf);
	return 0;
}

int main(void) {
	if (chdir(DATA_DIR) != 0) {
		perror("cwd: chdir " DATA_DIR);
		return 1;
	}
	int bad = cwd("getcwd");
	char link[PATH_MAX];
	ssize_t n = readlink("/proc/self/cwd", link, sizeof link - 1);
	if (n < 0) {
		perror("cwd: readlink /proc/self/cwd");
		bad = 1;
	} else {
		link[n] = '\0';
		printf("/proc/self/cwd: %s\n", link);
	}
	char *real = realpath("data.txt", NULL);
	if (real == NULL) {
		perror("cwd: realpath data.txt");
		bad = 1;
	} else {
		printf("realpath data.txt: %s\n", real);
		free(real);
	}
	bad |= cat(AT_FDCWD, "data.txt");
	bad |= cat(AT_FDCWD, "../share/data.txt");
	int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (here < 0) {
		perror("cwd: open .");
		return 1;
	}
	bad |= cat(here, "./data.txt");
	if (chdir("..") != 0) {
		perror("cwd: chdir ..");
		return 1;
	}
	bad |= cwd("after chdir ..");
	if (fchdir(here) != 0) {
		perror("cwd: fchdir");
		return 1;
	}
	bad |= cwd("after fchdir");
	return bad;
}
