// Package redact removes credentials from URLs before they are shown: in errors, status, Events,
// logs and API responses.
package redact

import (
	"regexp"
	"strings"
)

// Hidden stands in for the credentials that were removed.
const Hidden = "xxxxx"

// userInfo finds the user info of a URL ("scheme://user:password@"). The user info runs to the
// last "@" before the host's "/", as net/url reads it, so a raw "@" in a password is covered.
var userInfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#\s"'<>]*)@`)

// URL returns raw without its credentials. An http(s) URL loses its whole user info
// ("https://xxxxx@host/…"), because Git hosts take a token as the user name too; other schemes
// (ssh://git:secret@host) keep the user name and lose the password, as url.URL.Redacted does.
// Anything without user info is returned unchanged, so redacting twice is harmless.
func URL(raw string) string { return Text(raw) }

// Text returns s with every URL in it redacted as URL does: for messages that quote URLs, such
// as the errors of Git and HTTP libraries.
func Text(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userInfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := userInfo.FindStringSubmatch(m)
		scheme, info := sub[1], sub[2]
		switch strings.ToLower(scheme) {
		case "http", "https":
			info = Hidden
		default:
			if user, _, hasPassword := strings.Cut(info, ":"); hasPassword {
				info = user + ":" + Hidden
			}
		}
		return scheme + "://" + info + "@"
	})
}

// Reference returns an image or registry reference without scheme ("user:token@host/path",
// which no registry takes, but a Git author may write) with the user info before the host
// replaced, as URL does for URLs.
func Reference(ref string) string {
	host, rest, hasPath := strings.Cut(ref, "/")
	i := strings.LastIndex(host, "@")
	if i < 0 || strings.Contains(ref, "://") {
		return URL(ref)
	}
	out := Hidden + "@" + host[i+1:]
	if hasPath {
		out += "/" + rest
	}
	return out
}

// Error returns err with its message redacted by Text; errors.Is and errors.As still see the
// errors it wraps. Nil stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := Text(msg); red != msg {
		return &redacted{msg: red, err: err}
	}
	return err
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }
