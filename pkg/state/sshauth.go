package state

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

func init() {
	args := []Arg{
		{Name: "user", Kind: String, Required: true}, {Name: "enc", Kind: String, Default: "ssh-rsa"},
		{Name: "comment", Kind: String}, {Name: "options", Kind: List},
		{Name: "config", Kind: String, Default: ".ssh/authorized_keys", Doc: "relative to the user's home, or absolute"},
		{Name: "source", Kind: String, Doc: "salt:// file of keys, one per line"},
		{Name: "fingerprint_hash_type", Kind: String},
	}
	Default.Register(&Func{Name: "ssh_auth.present", Doc: "Ensure an SSH key is in a user's authorized_keys.", Args: args, Run: sshAuth(true)})
	Default.Register(&Func{Name: "ssh_auth.absent", Doc: "Ensure an SSH key is not in a user's authorized_keys.", Args: args, Run: sshAuth(false)})
}

// authKey is one authorized_keys entry.
type authKey struct {
	options, enc, key, comment string
}

func (k authKey) line() string {
	parts := []string{}
	if k.options != "" {
		parts = append(parts, k.options)
	}
	parts = append(parts, k.enc, k.key)
	if k.comment != "" {
		parts = append(parts, k.comment)
	}
	return strings.Join(parts, " ")
}

var keyTypes = map[string]bool{"ssh-rsa": true, "ssh-dss": true, "ssh-ed25519": true, "ecdsa-sha2-nistp256": true,
	"ecdsa-sha2-nistp384": true, "ecdsa-sha2-nistp521": true, "sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true}

// parseAuthLine reads "[options] enc key [comment]"; ok is false for a
// blank line, a comment, or something that is not a key.
func parseAuthLine(line string) (authKey, bool) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return authKey{}, false
	}
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if keyTypes[f[i]] {
			return authKey{options: strings.Join(f[:i], " "), enc: f[i], key: f[i+1], comment: strings.Join(f[i+2:], " ")}, true
		}
	}
	return authKey{}, false
}

func sshAuth(present bool) func(ctx context.Context, c *Call) Ret {
	return func(ctx context.Context, c *Call) Ret {
		a := c.Args
		u, err := user.Lookup(a.String("user"))
		if err != nil {
			return Ret{Result: False, Comment: fmt.Sprintf("User %s does not exist", a.String("user"))}
		}
		var want []authKey
		if a.Has("source") {
			data, err := c.fetch(ctx, a.String("source"), false)
			if err != nil {
				return Ret{Result: False, Comment: fmt.Sprintf("Unable to read %s: %v", a.String("source"), err)}
			}
			for _, l := range strings.Split(string(data), "\n") {
				if k, ok := parseAuthLine(l); ok {
					want = append(want, k)
				}
			}
		} else if k, ok := parseAuthLine(c.Name); ok {
			want = []authKey{k}
		} else {
			k := authKey{enc: a.String("enc"), key: strings.TrimSpace(c.Name), comment: a.String("comment")}
			if k.enc == "rsa" || k.enc == "dsa" || k.enc == "ed25519" {
				k.enc = "ssh-" + k.enc
			}
			want = []authKey{k}
		}
		if opts := a.Strings("options"); len(opts) > 0 {
			for i := range want {
				want[i].options = strings.Join(opts, ",")
			}
		}
		if a.Has("comment") && !a.Has("source") {
			for i := range want {
				want[i].comment = a.String("comment")
			}
		}
		path := a.String("config")
		if !filepath.IsAbs(path) {
			path = filepath.Join(u.HomeDir, path)
		}
		old, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return Ret{Result: False, Comment: err.Error()}
		}
		lines := splitLines(string(old))
		ch := map[string]any{}
		for _, k := range want {
			found := -1
			for i, l := range lines {
				if have, ok := parseAuthLine(l); ok && have.key == k.key {
					found = i
					break
				}
			}
			switch {
			case present && found < 0:
				if len(lines) > 0 && !strings.HasSuffix(lines[len(lines)-1], "\n") {
					lines[len(lines)-1] += "\n"
				}
				lines = append(lines, k.line()+"\n")
				ch[k.key] = "New"
			case present:
				if strings.TrimRight(lines[found], "\n") != k.line() {
					lines[found] = k.line() + "\n"
					ch[k.key] = "Updated"
				}
			case found >= 0:
				lines = append(lines[:found], lines[found+1:]...)
				ch[k.key] = "Removed"
			}
		}
		if len(ch) == 0 {
			if present {
				return Ret{Result: True, Comment: fmt.Sprintf("The authorized host key is already present for user %s", u.Username)}
			}
			return Ret{Result: True, Comment: "Key not present"}
		}
		if c.Test {
			return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("Key(s) for user %s are set to be changed", u.Username)}
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		dir := filepath.Dir(path)
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return Ret{Result: False, Comment: err.Error()}
			}
			_ = os.Chown(dir, uid, gid)
		}
		if err := writeAtomic(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		if err := os.Chown(path, uid, gid); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		verb := map[bool]string{true: "added to", false: "removed from"}[present]
		return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("The authorized host key(s) were %s the authorized_keys of user %s", verb, u.Username)}
	}
}
