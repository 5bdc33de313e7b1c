/* hello: a dynamically linked program whose interpreter and RUNPATH live in
 * the store, so it runs only where the store exists at its original path. */
#include <stdio.h>
#include <stdlib.h>

const char *greet(void);

int main(int argc, char **argv) {
	printf("hello from the store: %s\n", greet());
	for (int i = 1; i < argc; i++)
		printf("%s\n", argv[i]);
	const char *status = getenv("HELLO_EXIT");
	if (status != NULL && *status != '\0')
		return atoi(status);
	return 0;
}
