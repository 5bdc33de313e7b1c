/* forker: many fork+exec children (or one posix_spawn, which glibc does with
 * clone(CLONE_VM|CLONE_VFORK)), to exercise a launcher that must follow every
 * new process into the store. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef HELLO_PATH
#error "compile with -DHELLO_PATH=\"<store>/<hash>-hello/bin/hello\""
#endif

extern char **environ;

static int spawn_once(void) {
	char *argv[] = {HELLO_PATH, "spawned", NULL};
	pid_t pid;
	int err = posix_spawn(&pid, HELLO_PATH, NULL, NULL, argv, environ);
	if (err != 0) {
		fprintf(stderr, "forker: posix_spawn " HELLO_PATH ": %s\n", strerror(err));
		return 1;
	}
	int status;
	if (waitpid(pid, &status, 0) < 0) {
		perror("forker: waitpid");
		return 1;
	}
	if (WIFEXITED(status)) {
		printf("spawn exit %d\n", WEXITSTATUS(status));
		return WEXITSTATUS(status) != 0;
	}
	printf("spawn signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	return 1;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "spawn") == 0)
		return spawn_once();
	int n = argc > 1 ? atoi(argv[1]) : 200;
	if (n <= 0) {
		fprintf(stderr, "forker: bad count %s\n", argv[1]);
		return 2;
	}
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("forker: fork");
			return 1;
		}
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0) {
				dup2(fd, 1);
				close(fd);
			}
			char *child_argv[] = {HELLO_PATH, NULL};
			execv(HELLO_PATH, child_argv);
			_exit(127);
		}
	}
	int failed = 0;
	for (int i = 0; i < n; i++) {
		int status;
		if (wait(&status) < 0) {
			perror("forker: wait");
			return 1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	if (failed) {
		printf("forked %d failed %d\n", n, failed);
		return 1;
	}
	printf("forked %d ok\n", n);
	return 0;
}
