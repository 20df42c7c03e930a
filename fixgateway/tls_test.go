package fixgateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir and returns their paths.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "venue test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestTLS: quickfixgo's TLS settings in the gateway's file are honoured:
// the port speaks TLS with the configured certificate, and a FIX session
// trades over it.
func TestTLS(t *testing.T) {
	v := newVenue(t)
	cert, key := selfSigned(t, t.TempDir())
	g := startGateway(t, gwSetup{venue: v, sessions: []string{"DEMO1"},
		// SocketUseSSL=Y: clients need no certificate of their own (without
		// it quickfixgo requires and verifies one: mutual TLS).
		extra: "SocketPrivateKeyFile=" + key + "\nSocketCertificateFile=" + cert + "\nSocketUseSSL=Y\n"})

	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(g.port), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS handshake with the gateway: %v", err)
	}
	if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "venue test" {
		t.Fatalf("gateway presented %q", cn)
	}
	conn.Close()

	c := newClient(t, clientSetup{compID: "DEMO1", port: g.port,
		extra: "SocketUseSSL=Y\nSocketCAFile=" + cert + "\nSocketServerName=127.0.0.1\n"})
	eventually(t, "logon over TLS", c.loggedOn.Load)
	script(t, map[string]*fixClient{"DEMO1": c}, nil, `
DEMO1 > D 11=t1 55=ALPHA 54=1 38=1 40=2 44=100.00
DEMO1 < 8 11=t1 150=0 39=0
`)
}

// TestTwoGateways: two gateways, each with its own cluster session and
// principal, trade against each other through one cluster.
func TestTwoGateways(t *testing.T) {
	v := newVenue(t)
	g1 := startGateway(t, gwSetup{venue: v, sessions: []string{"DEMO1"}})
	g2 := startGateway(t, gwSetup{venue: v, sessions: []string{"DEMO2"}, principal: "GW2"})
	c := map[string]*fixClient{"DEMO1": connect(t, g1, "DEMO1"), "DEMO2": connect(t, g2, "DEMO2")}
	script(t, c, nil, `
DEMO1 > D 11=x1 55=ALPHA 54=1 38=10 40=2 44=100.00
DEMO1 < 8 11=x1 150=0
DEMO2 > D 11=y1 55=ALPHA 54=2 38=10 40=2 44=100.00
DEMO2 < 8 11=y1 150=0
DEMO2 < 8 11=y1 150=F 39=2
DEMO1 < 8 11=x1 150=F 39=2
DEMO1 quiet
DEMO2 quiet
`)
	if g1.client.SessionID() == g2.client.SessionID() {
		t.Fatal("the gateways share a cluster session")
	}
}
