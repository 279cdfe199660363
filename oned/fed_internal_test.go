package oned

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/oneha/oneha/internal/harness"
)

// TestOnlyTheGapAnswerMovesTheStream: the master rewinds only on the
// whole gap answer; any other REPLICATION failure, even one quoting the
// phrase (row data in an SQL error), is not a position.
func TestOnlyTheGapAnswerMovesTheStream(t *testing.T) {
	for msg, want := range map[string]int64{
		"[one.zone.fedreplicate] Zone log is outdated last log index is 42":                                           42,
		"[one.zone.fedsnapshot] Zone log is outdated last log index is 0":                                             0,
		"[one.zone.fedreplicate] Error replicating log entry 7: Duplicate 'Zone log is outdated last log index is 9'": -1,
		"[one.zone.fedreplicate] Zone log is outdated last log index is 42x":                                          -1,
		"Zone log is outdated last log index is 3":                                                                    -1,
	} {
		n, ok := outdatedIndex(msg)
		if got := int64(n); (want < 0 && ok) || (want >= 0 && (!ok || got != want)) {
			t.Errorf("outdatedIndex(%q) = %d, %v; want %d", msg, n, ok, want)
		}
	}
}

// TestOtherZoneMustHoldTheZoneCAWhenCalledByIP: a certificate the system
// trusts, but not of the zone CA, is accepted for a host name it names and
// refused for an IP ENDPOINT (no name would be checked) and for another
// name.
func TestOtherZoneMustHoldTheZoneCAWhenCalledByIP(t *testing.T) {
	public := harness.NewTestCA(t, "public")
	zone := harness.NewTestCA(t, "zone")
	certFile, keyFile := public.IssueServer(t, t.TempDir())
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots, zonePool := x509.NewCertPool(), x509.NewCertPool()
	for pool, file := range map[*x509.CertPool]string{roots: public.File, zonePool: zone.File} {
		pem, err := os.ReadFile(file)
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			t.Fatalf("%s: %v", file, err)
		}
	}
	verify := verifyOtherZone(func() *x509.CertPool { return zonePool }, roots)
	for name, ok := range map[string]bool{"": false, "localhost": true, "zone-b.example": false} {
		err := verify(tls.ConnectionState{ServerName: name, PeerCertificates: []*x509.Certificate{leaf}})
		if (err == nil) != ok {
			t.Errorf("ServerName %q: %v; want accepted %v", name, err, ok)
		}
	}
}
