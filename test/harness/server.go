package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// ServerOptions say how to start one gitops-apiserver process.
type ServerOptions struct {
	Binary            string   // path of bin/gitops-apiserver
	Host              string   // the loopback address to bind; 127.0.0.1 when empty
	Port, WebhookPort int      // the secure port and the webhook receiver's port
	CertDir, LogPath  string   // its self-signed serving certificate; its stdout and stderr (appended)
	Args              []string // every other flag (repository, kubeconfigs, secrets files, intervals)
}

// Server is a running bin/gitops-apiserver.
type Server struct {
	Cmd               *exec.Cmd
	Host              string
	Port, WebhookPort int
	CertDir, LogPath  string
	Started           time.Time
	Done              chan struct{} // closed once the process has exited
	Options           ServerOptions // what it was started with, for a restart on the same ports
}

// StartServer starts the server and waits until it listens on both of its ports. When its log
// says a port was taken (another process bound it after it was picked), it stops the server and
// returns a *PortTakenError, so the caller can start it again on other ports.
func StartServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	s := &Server{Host: host, Port: opts.Port, WebhookPort: opts.WebhookPort, CertDir: opts.CertDir, LogPath: opts.LogPath, Done: make(chan struct{}), Options: opts}
	var logStart int64 // what an earlier run of this server wrote to the same log
	if info, err := os.Stat(s.LogPath); err == nil {
		logStart = info.Size()
	}
	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	s.Cmd = exec.Command(opts.Binary, append([]string{
		"--secure-port", strconv.Itoa(s.Port), "--bind-address", host, "--cert-dir", s.CertDir,
		"--webhook-port", strconv.Itoa(s.WebhookPort),
	}, opts.Args...)...)
	s.Cmd.Stdout, s.Cmd.Stderr = logFile, logFile
	// Own process group, and killed by the kernel if the test process dies, so none is left behind.
	s.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.Cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start gitops-apiserver: %w", err)
	}
	s.Started = time.Now()
	go func() { _ = s.Cmd.Wait(); logFile.Close(); close(s.Done) }()
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		if taken := s.portTaken(logStart); taken != nil {
			return false, taken
		}
		select {
		case <-s.Done:
			return false, fmt.Errorf("gitops-apiserver exited:\n%s", Tail(s.LogPath, 30))
		default:
		}
		return s.Listening(), nil
	})
	if _, taken := err.(*PortTakenError); taken {
		s.Stop()
	}
	return s, err
}

// PortTakenError says that a port the server was given was taken when it tried to listen.
type PortTakenError struct{ Port int }

func (e *PortTakenError) Error() string {
	return fmt.Sprintf("port %d was taken before gitops-apiserver could listen on it", e.Port)
}

// portTaken returns the port the server's log (after offset) says was in use, or nil.
func (s *Server) portTaken(offset int64) *PortTakenError {
	data, _ := os.ReadFile(s.LogPath)
	for _, line := range strings.Split(string(data[min(offset, int64(len(data))):]), "\n") {
		if !strings.Contains(line, "address already in use") {
			continue
		}
		if strings.Contains(line, "Webhook receiver") {
			return &PortTakenError{s.WebhookPort}
		}
		return &PortTakenError{s.Port}
	}
	return nil
}

// CAFile is the server's self-signed serving certificate, which is also its CA.
func (s *Server) CAFile() string { return filepath.Join(s.CertDir, "apiserver.crt") }

// Listening reports whether this server answers on both of its ports: the secure port with the
// serving certificate in its own certificate directory, the webhook port with its receiver's
// answer to a GET. Another process on one of the ports answers neither.
func (s *Server) Listening() bool {
	ca, err := os.ReadFile(s.CAFile())
	if err != nil {
		return false
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	conn, err := tls.Dial("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		return false
	}
	conn.Close()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", s.WebhookPort))
	if err != nil {
		return false
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusMethodNotAllowed && strings.Contains(string(body), "point the webhook at this URL")
}

// Stop sends SIGTERM to the server's process group and waits; SIGKILL after 10 s.
func (s *Server) Stop() {
	_ = syscall.Kill(-s.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.Done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.Cmd.Process.Pid, syscall.SIGKILL)
		<-s.Done
	}
}

// FreePort returns a TCP port that is free on 127.0.0.1 now; another process may take it later.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Tail returns the last n lines of a file, or why it could not be read.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
