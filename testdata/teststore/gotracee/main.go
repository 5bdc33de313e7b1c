// Command gotracee is built into the test store twice: static (CGO_ENABLED=0)
// and dynamic, linked against the store's libc with the store's ld.so as its
// interpreter (cgo). Go programs are what a system-call tracer finds hardest:
// many threads from the start, small goroutine stacks, and os/exec starting
// children with clone(CLONE_VM|CLONE_VFORK) from a goroutine. It reads a
// store file from several goroutines at once and runs another store program
// from several goroutines at once, and prints what it got.
//
// The store paths it uses are in its item's etc/gotracee.conf, found from
// its own path as programs find their data. The binary names no store path
// but, when dynamic, the interpreter and RUNPATH that patchelf sets, so that
// internal/teststore builds it once per process and copies it into every
// store it makes (linking a Go program takes seconds).
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

const (
	readers = 8
	reads   = 50
	execs   = 4
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gotracee:", err)
		os.Exit(1)
	}
}

func run() error {
	fmt.Println("linked:", linked)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Println("executable:", exe)
	conf, err := readConf(filepath.Join(filepath.Dir(exe), "..", "etc", "gotracee.conf"))
	if err != nil {
		return err
	}
	helloPath, dataPath := conf["hello"], conf["data"]
	data, err := os.ReadFile(dataPath)
	if err != nil {
		return err
	}
	fmt.Printf("data: %s", data)

	var wg sync.WaitGroup
	errs := make([]error, readers)
	for i := range readers {
		wg.Go(func() {
			for range reads {
				b, err := os.ReadFile(dataPath)
				if err == nil && !bytes.Equal(b, data) {
					err = fmt.Errorf("%s changed between reads", dataPath)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	fmt.Printf("readers: %d goroutines read it %d times each\n", readers, reads)

	outs := make([][]byte, execs)
	for i := range execs {
		wg.Go(func() {
			outs[i], errs[i] = exec.Command(helloPath, "from go "+strconv.Itoa(i)).Output()
		})
	}
	wg.Wait()
	for i := range execs {
		if errs[i] != nil {
			return fmt.Errorf("%s: %w", helloPath, errs[i])
		}
		os.Stdout.Write(outs[i])
	}
	return nil
}

// readConf reads the lines "key=value" of name.
func readConf(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	conf := map[string]string{}
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		k, v, ok := strings.Cut(lines.Text(), "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not key=value", name, lines.Text())
		}
		conf[k] = v
	}
	if err := lines.Err(); err != nil {
		return nil, err
	}
	for _, k := range []string{"hello", "data"} {
		if conf[k] == "" {
			return nil, fmt.Errorf("%s does not set %s", name, k)
		}
	}
	return conf, nil
}
