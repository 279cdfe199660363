package zoneca

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// FilePollInterval is how often NewFileCreds' Run looks for changed files.
	FilePollInterval = 30 * time.Second
	// MinLeafTTL is the shortest lifetime NewAutoCreds accepts.
	MinLeafTTL = time.Second
	// expiryWarnEvery spaces the warnings about an operator's certificate
	// that is about to expire.
	expiryWarnEvery = time.Hour
)

// Creds is this server's certificate and the pool its peers must chain to,
// replaced while the server runs (renewal or reload without restart).
// Certificate, Leaf, Pool and Renewed are safe for concurrent use; Run is
// called once.
type Creds struct {
	cur atomic.Pointer[credState]
	log *slog.Logger

	mu      sync.Mutex
	renewed chan struct{} // closed and replaced at each replacement

	// Auto-issued (zone CA) credentials.
	ca    *CA
	id    Identity
	hosts func() []string
	ttl   time.Duration

	// Operator's own files; with auto creds caPath and keyPath are the zone
	// CA files WatchCA reloads (certPath unused).
	caPath, certPath, keyPath string
	poll                      time.Duration
	stamp                     filesStamp // only Run's goroutine after New*
}

type credState struct {
	cert   *tls.Certificate // Leaf always set
	pool   *x509.CertPool
	issued time.Time // when the leaf was obtained; renewal counts from here
}

// NewAutoCreds issues the first leaf for id at once (an error if it cannot,
// e.g. ErrNoCAKey) and, in Run, issues a new one when 2/3 of the current
// leaf's lifetime has passed, so a 24h leaf is renewed every 16h. hosts is
// called at each issue, from Run's goroutine after the first (nil means no
// IP/DNS SANs); it must be safe to call concurrently with the caller's code.
func NewAutoCreds(ca *CA, id Identity, hosts func() []string, ttl time.Duration, log *slog.Logger) (*Creds, error) {
	if ca == nil || ca.Cert == nil {
		return nil, fmt.Errorf("%w: NewAutoCreds without a CA", ErrNoCA)
	}
	if ttl < MinLeafTTL {
		return nil, fmt.Errorf("zoneca: certificate lifetime %v is shorter than %v", ttl, MinLeafTTL)
	}
	if hosts == nil {
		hosts = func() []string { return nil }
	}
	c := &Creds{log: orDiscard(log), renewed: make(chan struct{}), ca: ca, id: id, hosts: hosts, ttl: ttl}
	st, err := c.issue()
	if err != nil {
		return nil, err
	}
	c.cur.Store(st)
	return c, nil
}

// NewFileCreds uses an operator's own PKI: the CA file (PEM, may hold several
// roots) that peers must chain to, and this server's certificate (PEM chain,
// leaf first) and key. The key must not be accessible by others (group
// access is allowed for the usual ssl-cert group), the key must match the
// certificate, and the certificate must chain to the CA for both ServerAuth
// and ClientAuth, since zone peers check both. Run polls the three files
// every FilePollInterval and reloads them when one changed (content);
// a bad new set is logged and the previous one kept. It also warns (hourly)
// when the certificate in use has less than min(3 days, 1/3 of its lifetime)
// left.
func NewFileCreds(caPath, certPath, keyPath string, log *slog.Logger) (*Creds, error) {
	return NewFileCredsPoll(caPath, certPath, keyPath, FilePollInterval, log)
}

// NewFileCredsPoll is NewFileCreds with another poll interval.
func NewFileCredsPoll(caPath, certPath, keyPath string, poll time.Duration, log *slog.Logger) (*Creds, error) {
	if poll <= 0 {
		poll = FilePollInterval
	}
	c := &Creds{log: orDiscard(log), renewed: make(chan struct{}), caPath: caPath, certPath: certPath, keyPath: keyPath, poll: poll}
	c.stamp = statFiles(caPath, certPath, keyPath)
	st, err := loadFileState(caPath, certPath, keyPath)
	if err != nil {
		return nil, err
	}
	c.cur.Store(st)
	return c, nil
}

// WatchCA makes Run (of NewAutoCreds' Creds) re-read the zone CA files
// certPath and keyPath every poll (FilePollInterval if <= 0) and, when their
// content changed and they load (EnsureCA's checks: a CA, key 0600 matching
// the first certificate), issue a new leaf with the new signer and trust the
// new bundle at once, so a CA rotation step needs no restart. A set that
// does not load is logged once and the current CA kept until the files
// change again. Call it before Run, at most once.
func (c *Creds) WatchCA(certPath, keyPath string, poll time.Duration) {
	if poll <= 0 {
		poll = FilePollInterval
	}
	c.caPath, c.keyPath, c.poll = certPath, keyPath, poll
	c.stamp = statFiles(certPath, keyPath, "")
}

// Certificate is the current leaf with its key; never nil.
func (c *Creds) Certificate() *tls.Certificate { return c.cur.Load().cert }

// Leaf is the parsed current leaf.
func (c *Creds) Leaf() *x509.Certificate { return c.cur.Load().cert.Leaf }

// Pool is the pool a peer's certificate must chain to. Do not modify it.
func (c *Creds) Pool() *x509.CertPool { return c.cur.Load().pool }

// Renewed returns a channel that is closed when the current certificate is
// next replaced (renewal or reload). Call it again afterwards for the next.
func (c *Creds) Renewed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.renewed
}

// Run renews (NewAutoCreds) or reloads (NewFileCreds) the certificate until
// ctx is done. Failures are logged and retried; the current certificate stays
// in use meanwhile.
func (c *Creds) Run(ctx context.Context) {
	if c.ca != nil {
		c.runAuto(ctx)
		return
	}
	c.runFiles(ctx)
}

func (c *Creds) replace(st *credState) {
	c.cur.Store(st)
	c.mu.Lock()
	close(c.renewed)
	c.renewed = make(chan struct{})
	c.mu.Unlock()
}

func (c *Creds) issue() (*credState, error) {
	now := time.Now()
	cert, err := c.ca.Issue(c.id, c.hosts(), c.ttl, now)
	if err != nil {
		return nil, err
	}
	return &credState{cert: &cert, pool: c.ca.Pool(), issued: now}, nil
}

// renewAt is when 2/3 of the leaf's lifetime (counted from its issue) passed.
func (st *credState) renewAt() time.Time {
	life := st.cert.Leaf.NotAfter.Sub(st.issued)
	return st.issued.Add(life * 2 / 3)
}

// runAuto renews the leaf at 2/3 of its lifetime and, with WatchCA, reloads
// the CA files when they change; a reload issues a new leaf, whose renewal
// is then counted from its own issue.
func (c *Creds) runAuto(ctx context.Context) {
	next := c.cur.Load().renewAt()
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	var watch <-chan time.Time
	if c.caPath != "" {
		t := time.NewTicker(c.poll)
		defer t.Stop()
		watch = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-watch:
			if !c.reloadCA() {
				continue
			}
			if !timer.Stop() {
				select { // drain a renewal that fired meanwhile: issuing now covers it
				case <-timer.C:
				default:
				}
			}
		}
		st, err := c.issue()
		if err != nil {
			old := c.Leaf()
			retry := min(max(c.ttl/20, time.Second), time.Minute)
			c.log.Error("zoneca: renewing the server certificate failed; retrying",
				"identity", c.id.String(), "err", err, "current_not_after", old.NotAfter, "retry_in", retry)
			timer.Reset(retry)
			continue
		}
		c.replace(st)
		c.log.Info("zoneca: server certificate renewed", "identity", c.id.String(),
			"serial", st.cert.Leaf.SerialNumber.Text(16), "not_after", st.cert.Leaf.NotAfter,
			"ca", st.cert.Leaf.Issuer.CommonName)
		timer.Reset(time.Until(st.renewAt()))
	}
}

// reloadCA loads the watched CA files when their content changed and
// reports whether c.ca was replaced (a new leaf must then be issued).
func (c *Creds) reloadCA() bool {
	s := statFiles(c.caPath, c.keyPath, "")
	if s == c.stamp {
		return false
	}
	c.stamp = s // also on failure: log a bad set once, retry on the next change
	ca, err := loadCA(c.caPath, c.keyPath)
	if err != nil {
		c.log.Error("zoneca: reloading the zone CA failed; keeping the current one (a rotation step copies both files: this clears when the copy is complete)",
			"ca", c.caPath, "ca_key", c.keyPath, "err", err)
		return false
	}
	c.ca = ca
	c.log.Info("zoneca: zone CA reloaded", "signer", ca.Cert.Subject.CommonName, "trusted", describeCerts(append([]*x509.Certificate{ca.Cert}, ca.more...)))
	return true
}

func (c *Creds) runFiles(ctx context.Context) {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	var warned time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if leaf := c.Leaf(); expiresSoon(leaf, time.Now()) && time.Since(warned) >= expiryWarnEvery {
			warned = time.Now()
			c.log.Warn("zoneca: the TLS certificate expires soon; replace the files (they are reloaded without restart)",
				"cert", c.certPath, "not_after", leaf.NotAfter)
		}
		s := statFiles(c.caPath, c.certPath, c.keyPath)
		if s == c.stamp {
			continue
		}
		c.stamp = s // also on failure: log a bad set once, retry on the next change
		st, err := loadFileState(c.caPath, c.certPath, c.keyPath)
		if err != nil {
			c.log.Error("zoneca: reloading TLS files failed; keeping the previous certificate",
				"cert", c.certPath, "key", c.keyPath, "ca", c.caPath, "err", err)
			continue
		}
		c.replace(st)
		c.log.Info("zoneca: TLS certificate reloaded", "cert", c.certPath,
			"serial", st.cert.Leaf.SerialNumber.Text(16), "not_after", st.cert.Leaf.NotAfter)
	}
}

// expiresSoon: less than a third of the leaf's lifetime, or less than 3
// days, is left.
func expiresSoon(leaf *x509.Certificate, now time.Time) bool {
	left := leaf.NotAfter.Sub(now)
	return left < min(72*time.Hour, leaf.NotAfter.Sub(leaf.NotBefore)/3)
}

// filesStamp identifies the versions of the three files by their content
// (SHA-256; zero for a file that cannot be read). Content, not mtime and
// size: a rewrite within the file system's timestamp granularity (a few
// ms) with a same-length certificate would otherwise go unnoticed.
type filesStamp [3][sha256.Size]byte

func statFiles(paths ...string) filesStamp {
	var s filesStamp
	for i, p := range paths[:3] {
		if b, err := readBounded(p); err == nil {
			s[i] = sha256.Sum256(b)
		}
	}
	return s
}

func loadFileState(caPath, certPath, keyPath string) (*credState, error) {
	ca, err := LoadCACert(caPath)
	if err != nil {
		return nil, err
	}
	certPEM, err := readBounded(certPath)
	if err != nil {
		return nil, fmt.Errorf("zoneca: reading certificate: %w", err)
	}
	chain, err := parseCertsPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("zoneca: certificate %s: %w", certPath, err)
	}
	key, err := loadKey(keyPath, 0o007)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, fmt.Errorf("zoneca: key %s does not match certificate %s", keyPath, certPath)
	}
	pool := ca.Pool()
	now := time.Now()
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if err := verifyLeaf(pool, leaf, chain[1:], u, now); err != nil {
			return nil, fmt.Errorf("zoneca: %s is not usable with CA %s (zone peers would refuse it): %w", certPath, caPath, err)
		}
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return &credState{cert: cert, pool: pool, issued: now}, nil
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
