// Command gpack-compress compresses stdin to stdout with formats/compress,
// for bench/compress.sh and level measurements. GOMAXPROCS sets the workers.
package main

import (
	"bufio"
	"flag"
	"io"
	"log"
	"os"

	"github.com/gpack/gpack/formats/compress"
)

func main() {
	log.SetFlags(0)
	algo, opts := compress.Gzip, compress.Options{}
	flag.Func("C", "compression: gzip, zstd, xz or none", func(s string) (err error) { algo, err = compress.ParseAlgo(s); return err })
	flag.IntVar(&opts.Level, "level", 0, "compression level (0: the default)")
	flag.Parse()
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	zw, err := compress.NewWriter(out, algo, opts)
	if err == nil {
		if _, err = io.Copy(zw, bufio.NewReaderSize(os.Stdin, 1<<20)); err == nil {
			err = zw.Close()
		}
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		log.Fatalf("gpack-compress: %v", err)
	}
}
