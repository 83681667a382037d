package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// refNameAnnotation names the index in the layout's index.json, as `skopeo copy oci:DIR:TAG`
// and `crane push` expect.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// writeLayout replaces dir with an OCI image layout whose index.json names one manifest: the
// multi-platform index, tagged with the version. It is written next to dir and renamed into
// place, so dir is never half written and holds no blobs of an earlier build.
func writeLayout(p *progress, dir string, index v1.ImageIndex, tag string) error {
	next := dir + ".next"
	if err := os.RemoveAll(next); err != nil {
		return err
	}
	path, err := layout.Write(next, empty.Index)
	if err != nil {
		return fmt.Errorf("write the OCI layout in %s: %w", next, err)
	}
	if err := path.AppendIndex(index, layout.WithAnnotations(map[string]string{refNameAnnotation: tag})); err != nil {
		return fmt.Errorf("write the OCI layout in %s: %w", next, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.Rename(next, dir); err != nil {
		return err
	}
	digest, err := index.Digest()
	if err != nil {
		return err
	}
	p.printf("wrote the OCI image layout %s: index %s, tag %s", dir, digest, tag)
	return nil
}

// push writes the index, its images and their blobs to ref, with the credentials the default
// keychain finds (docker login, ~/.docker/config.json), printing how far the upload is.
func push(ctx context.Context, p *progress, ref name.Reference, index v1.ImageIndex) error {
	p.printf("pushing to %s", ref.Name())
	updates, stop, printed := make(chan v1.Update, 16), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(printed)
		reportUploads(p, updates, stop)
	}()
	err := remote.WriteIndex(ref, index, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithProgress(updates))
	// WriteIndex closes updates when it is done, except when its options fail: stop covers that.
	close(stop)
	<-printed
	if err != nil {
		return fmt.Errorf("push to %s: %w (check PUSH and that `docker login` or ~/.docker/config.json has credentials for %s)", ref.Name(), err, ref.Context().RegistryStr())
	}
	digest, err := index.Digest()
	if err != nil {
		return err
	}
	p.printf("pushed %s@%s", ref.Context().Name(), digest)
	return nil
}

// reportUploads prints the upload's progress every tenth of the way, or every few seconds when
// it crawls, until go-containerregistry closes updates or stop is closed.
func reportUploads(p *progress, updates <-chan v1.Update, stop <-chan struct{}) {
	lastTenth, lastTime := int64(-1), time.Now()
	for {
		var u v1.Update
		select {
		case <-stop:
			return
		case update, open := <-updates:
			if !open {
				return
			}
			u = update
		}
		if u.Error != nil || u.Total == 0 {
			continue
		}
		tenth := u.Complete * 10 / u.Total
		if tenth != lastTenth || time.Since(lastTime) > 5*time.Second {
			p.printf("uploaded %s of %s", mebibytes(u.Complete), mebibytes(u.Total))
			lastTenth, lastTime = tenth, time.Now()
		}
	}
}
