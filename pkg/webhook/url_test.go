package webhook

import "testing"

func TestNormalizeURL(t *testing.T) {
	const canonical = "https://git.example/acme/app"
	for _, tc := range []struct{ in, want string }{
		{"https://git.example/acme/app", canonical},
		{"http://git.example/acme/app", canonical},
		{"https://git.example/acme/app.git", canonical},
		{"https://git.example/acme/app/", canonical},
		{"https://git.example/acme/app.git/", canonical},
		{"  https://git.example/acme/app\n", canonical},
		{"HTTPS://Git.EXAMPLE/acme/app", canonical},
		{"https://bot:token@git.example/acme/app.git", canonical},
		{"https://git.example:443/acme/app", canonical},
		{"http://git.example:80/acme/app", canonical},
		{"git@git.example:acme/app.git", canonical},
		{"git@GIT.example:/acme/app", canonical},
		{"git.example:acme/app", canonical},
		{"ssh://git@git.example/acme/app.git", canonical},
		{"ssh://git@git.example:22/acme/app", canonical},
		{"git://git.example/acme/app.git", canonical},
		{"https://git.example/acme/app?ref=main", canonical},
		{canonical, canonical}, // idempotent
		{"https://git.example:8443/acme/app", "https://git.example:8443/acme/app"},
		{"ssh://git@git.example:2222/acme/app.git", "https://git.example:2222/acme/app"},
		{"https://git.example/Acme/App", "https://git.example/Acme/App"}, // path case kept; matching ignores it
		{"https://[::1]:3000/acme/app", "https://[::1]:3000/acme/app"},
		{"https://[::1]/acme/app", "https://[::1]/acme/app"},
		{"https://git.example/group/sub/app.git", "https://git.example/group/sub/app"},
		{"file:///srv/git/app.git/", "file:///srv/git/app"},
		{"/srv/git/app.git", "/srv/git/app"},
	} {
		if got := NormalizeURL(tc.in); got != tc.want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMatchKeyKeepsDifferentRepositoriesApart(t *testing.T) {
	for _, pair := range [][2]string{
		{"https://git.example/acme/app", "https://git.example/acme/app2"},
		{"https://git.example/acme/app", "https://other.example/acme/app"},
		{"https://git.example/acme/app", "https://git.example:8443/acme/app"},
		{"https://git.example/acme/app", "https://git.example/other/app"},
		{"file:///srv/git/app", "https://git.example/srv/git/app"},
	} {
		if matchKey(pair[0]) == matchKey(pair[1]) {
			t.Errorf("%q and %q match, want them apart", pair[0], pair[1])
		}
	}
	if matchKey("https://github.com/Acme/Winterlight") != matchKey("git@github.com:acme/winterlight.git") {
		t.Error("owner and repository names must match case-insensitively")
	}
}
