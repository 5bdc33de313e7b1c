/* unixsock: a server binds an AF_UNIX socket at DIR/sock, a child process
 * connects to it and they exchange a line; both print the addresses the
 * kernel reports. A launcher that rewrites paths in socket addresses must
 * give these back unchanged. DIR is the first argument: the store is
 * read-only, so the socket lives in a writable directory. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *label, const struct sockaddr_un *sa, socklen_t len) {
	if (len <= offsetof(struct sockaddr_un, sun_path))
		printf("%s: unnamed\n", label);
	else
		printf("%s: %.*s\n", label, (int)strnlen(sa->sun_path, len - offsetof(struct sockaddr_un, sun_path)),
		       sa->sun_path);
}

static int readline(int fd, char *buf, size_t size) {
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return 0;
}

static int client(const struct sockaddr_un *addr) {
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (const struct sockaddr *)addr, sizeof *addr) != 0) {
		perror("unixsock: client connect");
		return 1;
	}
	char line[64];
	if (write(c, "ping\n", 5) != 5 || readline(c, line, sizeof line) != 0) {
		perror("unixsock: client");
		return 1;
	}
	struct sockaddr_un peer;
	socklen_t len = sizeof peer;
	if (getpeername(c, (struct sockaddr *)&peer, &len) != 0) {
		perror("unixsock: getpeername");
		return 1;
	}
	printf("client got %s", line);
	show("client getpeername", &peer, len);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: unixsock DIR\n");
		return 2;
	}
	struct sockaddr_un addr;
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	if ((size_t)snprintf(addr.sun_path, sizeof addr.sun_path, "%s/sock", argv[1]) >= sizeof addr.sun_path) {
		fprintf(stderr, "unixsock: %s is too long for a socket address\n", argv[1]);
		return 2;
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(s, 1) != 0) {
		perror("unixsock: bind");
		return 1;
	}
	struct sockaddr_un name;
	socklen_t len = sizeof name;
	if (getsockname(s, (struct sockaddr *)&name, &len) != 0) {
		perror("unixsock: getsockname");
		return 1;
	}
	show("server getsockname", &name, len);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("unixsock: fork");
		return 1;
	}
	if (pid == 0)
		_exit(client(&addr));
	int a = accept(s, NULL, NULL);
	char line[64];
	if (a < 0 || readline(a, line, sizeof line) != 0 || write(a, "pong\n", 5) != 5) {
		perror("unixsock: server");
		return 1;
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "unixsock: the client failed\n");
		return 1;
	}
	printf("server got %s", line);
	close(a);
	close(s);
	/* Leave the directory as it was. */
	if (unlink(addr.sun_path) != 0) {
		perror("unixsock: unlink");
		return 1;
	}
	return 0;
}
