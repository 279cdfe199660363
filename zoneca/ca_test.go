package zoneca

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEnsureCACreatesPrivateFilesOnceAndReloadsThem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls") // does not exist yet
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	ca, created, err := EnsureCA(certPath, keyPath, true)
	if err != nil || !created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, keyPath: 0o600, certPath: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode %04o, want %04o", path, got, want)
		}
	}
	if !ca.Cert.IsCA || !strings.HasPrefix(ca.Cert.Subject.CommonName, "OneHA zone CA ") {
		t.Errorf("CA cert: IsCA=%v CN=%q", ca.Cert.IsCA, ca.Cert.Subject.CommonName)
	}
	if life := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore); life < 9*365*24*time.Hour {
		t.Errorf("CA lifetime %v, want about 10 years", life)
	}
	again, created, err := EnsureCA(certPath, keyPath, true)
	if err != nil || created {
		t.Fatalf("second EnsureCA: created=%v err=%v", created, err)
	}
	if !again.Cert.Equal(ca.Cert) || !publicKeysEqual(again.Key.Public(), ca.Key.Public()) {
		t.Error("second EnsureCA returned another CA")
	}
	// A second CA made elsewhere has another name: CNs tell zones apart.
	if other := newTestCA(t); other.Cert.Subject.CommonName == ca.Cert.Subject.CommonName {
		t.Error("two CAs share a CN")
	}
}

// caFingerprint identifies a CA certificate.
func caFingerprint(ca *CA) string { return fmt.Sprintf("%x", sha256.Sum256(ca.Cert.Raw)) }

const childDirEnv = "ZONECA_TEST_ENSURE_DIR"

// TestEnsureCAChildProcess is the body of the child processes of
// TestEnsureCAConcurrentCallsMakeOneCA; it does nothing on its own.
func TestEnsureCAChildProcess(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("child process of TestEnsureCAConcurrentCallsMakeOneCA")
	}
	ca, created, err := EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), true)
	if err != nil {
		fmt.Printf("RESULT err %v\n", err)
		return
	}
	fmt.Printf("RESULT created=%v fp=%s\n", created, caFingerprint(ca))
}

func TestEnsureCAConcurrentCallsMakeOneCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")

	type result struct {
		created bool
		fp      string
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	add := func(r result) { mu.Lock(); results = append(results, r); mu.Unlock() }

	// Three oned-like processes and ten goroutines race for the same folder.
	var children []*exec.Cmd
	var outs []*bytes.Buffer
	for range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEnsureCAChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children, outs = append(children, cmd), append(outs, out)
	}
	start := make(chan struct{})
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ca, created, err := EnsureCA(certPath, keyPath, true)
			if err != nil {
				t.Errorf("goroutine: %v", err)
				return
			}
			add(result{created, caFingerprint(ca)})
		}()
	}
	close(start)
	wg.Wait()
	for i, cmd := range children {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, outs[i])
		}
		var created bool
		var fp string
		line := outs[i].String()
		idx := strings.Index(line, "RESULT ")
		if idx < 0 {
			t.Fatalf("child %d printed no result:\n%s", i, line)
		}
		if _, err := fmt.Sscanf(line[idx:], "RESULT created=%t fp=%s", &created, &fp); err != nil {
			t.Fatalf("child %d: %v in %q", i, err, line[idx:])
		}
		add(result{created, fp})
	}

	onDisk, created, err := EnsureCA(certPath, keyPath, false)
	if err != nil || created {
		t.Fatalf("reload: created=%v err=%v", created, err)
	}
	makers := 0
	for _, r := range results {
		if r.created {
			makers++
		}
		if r.fp != caFingerprint(onDisk) {
			t.Errorf("a caller got CA %s…, the folder holds %s…", r.fp[:12], caFingerprint(onDisk)[:12])
		}
	}
	if len(results) != 13 || makers != 1 {
		t.Errorf("%d results, %d callers created a CA; want 13 and exactly 1", len(results), makers)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); n != "ca.crt" && n != "ca.key" && n != "ca.key.lock" {
			t.Errorf("left over: %s", n)
		}
	}
}

func TestEnsureCARefusesGroupReadableKey(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	ca, _, err := EnsureCA(certPath, keyPath, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		if err := os.Chmod(keyPath, mode); err != nil {
			t.Fatal(err)
		}
		_, created, err := EnsureCA(certPath, keyPath, true)
		if !errors.Is(err, ErrInsecureFile) || created {
			t.Fatalf("mode %04o: created=%v err=%v, want ErrInsecureFile", mode, created, err)
		}
		mustContain(t, err, keyPath, fmt.Sprintf("%04o", mode), "chmod 600")
	}
	// Nothing was replaced: fixing the mode gives back the same CA.
	os.Chmod(keyPath, 0o600)
	again, _, err := EnsureCA(certPath, keyPath, true)
	if err != nil || !again.Cert.Equal(ca.Cert) {
		t.Fatalf("after chmod 600: %v", err)
	}
}

func TestMissingCAWithoutCreateNamesTheFix(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	_, created, err := EnsureCA(certPath, keyPath, false)
	if !errors.Is(err, ErrNoCA) || created {
		t.Fatalf("created=%v err=%v, want ErrNoCA", created, err)
	}
	mustContain(t, err, certPath, keyPath, "copy", "zone's first server")
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("EnsureCA(create=false) created %s", dir)
	}

	// A certificate copied without its key: ErrNoCAKey, even with create.
	src := t.TempDir()
	if _, _, err := EnsureCA(filepath.Join(src, "ca.crt"), filepath.Join(src, "ca.key"), true); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dir, 0o700)
	data, _ := os.ReadFile(filepath.Join(src, "ca.crt"))
	os.WriteFile(certPath, data, 0o644)
	for _, create := range []bool{false, true} {
		_, _, err = EnsureCA(certPath, keyPath, create)
		if !errors.Is(err, ErrNoCAKey) {
			t.Fatalf("create=%v: err %v, want ErrNoCAKey", create, err)
		}
		mustContain(t, err, keyPath, "zone's first server")
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Error("EnsureCA made a key for an existing certificate")
	}
	// LoadCACert still gives a CA that verifies but cannot issue.
	ca, err := LoadCACert(certPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Issue(Identity{0, 1}, nil, time.Hour, time.Now()); !errors.Is(err, ErrNoCAKey) {
		t.Errorf("Issue without key: %v", err)
	}
	if _, err := NewAutoCreds(ca, Identity{0, 1}, nil, time.Hour, nil); !errors.Is(err, ErrNoCAKey) {
		t.Errorf("NewAutoCreds without key: %v", err)
	}
}

func TestEnsureCARefusesKeyOfAnotherCA(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if _, _, err := EnsureCA(filepath.Join(d, "ca.crt"), filepath.Join(d, "ca.key"), true); err != nil {
			t.Fatal(err)
		}
	}
	_, created, err := EnsureCA(filepath.Join(a, "ca.crt"), filepath.Join(b, "ca.key"), true)
	if err == nil || created {
		t.Fatalf("mismatched key accepted (created=%v)", created)
	}
	mustContain(t, err, "does not match")
}
