package main

import (
	"context"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// startRegistry serves a registry on a free loopback port until the test ends; it returns host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	l, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, l, log.New(io.Discard, "", 0)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return l.Addr().String()
}

func TestPushListsTagsAndLabelsTheImage(t *testing.T) {
	host := startRegistry(t)
	for _, tag := range []string{"1.1.2", "1.1.3"} {
		if _, err := push(host + "/acme/winterlight:" + tag); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := name.NewRepository(host+"/acme/winterlight", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(repo)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tags, ","); got != "1.1.2,1.1.3" {
		t.Errorf("tags = %s, want 1.1.2,1.1.3", got)
	}
	img, err := remote.Image(repo.Tag("1.1.3"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Config.Labels["org.opencontainers.image.version"]; got != "1.1.3" {
		t.Errorf("version label = %q, want 1.1.3", got)
	}
}

func TestPushRefusesBadReferences(t *testing.T) {
	host := startRegistry(t)
	for _, tc := range []struct{ name, ref, want string }{
		{name: "no tag", ref: host + "/acme/winterlight", want: "want host:port/repository:tag"},
		{name: "no registry", ref: "acme/winterlight:1.1.3", want: "want host:port/repository:tag"},
		{name: "registry down", ref: "127.0.0.1:1/acme/winterlight:1.1.3", want: "is the registry running?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := push(tc.ref)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("push(%q) = %v, want an error containing %q", tc.ref, err, tc.want)
			}
		})
	}
}

func TestListenSaysWhenThePortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct{ name, addr, want string }{
		{name: "taken", addr: taken.Addr().String(), want: "is taken by another process"},
		{name: "bad address", addr: "127.0.0.1:http-not-a-port", want: "listen on 127.0.0.1:http-not-a-port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := listen(tc.addr)
			if err == nil {
				l.Close()
				t.Fatalf("listen(%s) succeeded", tc.addr)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("listen(%s) = %v, want it to contain %q", tc.addr, err, tc.want)
			}
		})
	}
}

// The demo waits for the address file, not for the port: another process holding the port would
// answer too.
func TestWriteAddrNamesTheListener(t *testing.T) {
	l, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct{ name, path, want string }{
		{name: "written", path: filepath.Join(t.TempDir(), "registry.addr"), want: l.Addr().String() + "\n"},
		{name: "no such directory", path: filepath.Join(t.TempDir(), "gone", "registry.addr"), want: "write --addr-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := writeAddr(tc.path, l)
			if tc.want == "write --addr-file" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("writeAddr = %v, want an error containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(tc.path)
			if err != nil || string(got) != tc.want {
				t.Errorf("%s holds %q (%v), want %q", tc.path, got, err, tc.want)
			}
		})
	}
}
