// Command image builds gitops-apiserver's multi-arch OCI image without Docker, with
// go-containerregistry, into an OCI image layout and, when asked, pushes it: `make image
// [PUSH=registry/repository:tag]`. Building twice from the same commit gives the same digest.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	o := options{created: os.Getenv("SOURCE_DATE_EPOCH")}
	flag.StringVar(&o.version, "version", "", "the version to stamp and label, e.g. the output of git describe --tags --always --dirty (make image passes VERSION)")
	flag.StringVar(&o.revision, "revision", "", "the full commit the image is built from (make image passes git rev-parse HEAD)")
	flag.StringVar(&o.source, "source", "https://github.com/kube-gitops/kube-gitops", "the repository URL for the org.opencontainers.image.source label")
	flag.StringVar(&o.platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated OS/ARCH list of the image index")
	flag.StringVar(&o.out, "out", "bin/image", "directory of the OCI image layout to write (replaced as a whole)")
	flag.StringVar(&o.binDir, "bin-dir", "bin", "where the cross-compiled binaries go, as OS_ARCH/gitops-apiserver (kept so go build can skip an up-to-date link)")
	flag.StringVar(&o.push, "push", "", "push the image index to this reference (registry/repository:tag), with credentials from the default keychain (~/.docker/config.json)")
	flag.BoolVar(&o.insecure, "insecure", false, "push over plain HTTP (localhost and 127.0.0.1 always are)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "image: unexpected arguments %s; see -help\n", strings.Join(flag.Args(), " "))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := o.run(ctx, newProgress(os.Stdout)); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}
