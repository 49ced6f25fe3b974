package worker_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nkeys"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

// TestConnectSecured connects the way roomworker does (worker.Connect) to real nats-servers
// that demand a client certificate, a credentials file or an nkey, checks that the secured
// connection carries messages, that a connection without the secret is refused, and that no
// log line or error holds the secret material.
func TestConnectSecured(t *testing.T) {
	dir := t.TempDir()
	pki := newPKI(t, dir)

	nkeyUser, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	nkeySeed, _ := nkeyUser.Seed()
	nkeyPub, _ := nkeyUser.PublicKey()
	seedFile := writeFile(t, dir, "user.nk", nkeySeed)

	operator, _ := nkeys.CreateOperator()
	opPub, _ := operator.PublicKey()
	opClaims := jwt.NewOperatorClaims(opPub)
	account, _ := nkeys.CreateAccount()
	accPub, _ := account.PublicKey()
	accJWT, err := jwt.NewAccountClaims(accPub).Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	credsUser, _ := nkeys.CreateUser()
	credsPub, _ := credsUser.PublicKey()
	userJWT, err := jwt.NewUserClaims(credsPub).Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	credsSeed, _ := credsUser.Seed()
	creds, err := jwt.FormatUserConfig(userJWT, credsSeed)
	if err != nil {
		t.Fatal(err)
	}
	credsFile := writeFile(t, dir, "user.creds", creds)
	otherCreds := writeOtherCreds(t, dir) // a user of an account this server does not trust

	tests := []struct {
		name   string
		server func(*server.Options)
		good   worker.NATSConfig
		bad    worker.NATSConfig // what a client without the secret would try
	}{
		{
			name: "tls client certificate",
			server: func(o *server.Options) {
				tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: pki.serverCert, KeyFile: pki.serverKey, CaFile: pki.ca, Verify: true})
				if err != nil {
					t.Fatal(err)
				}
				o.TLS, o.TLSVerify, o.TLSConfig, o.TLSTimeout = true, true, tc, 5
			},
			good: worker.NATSConfig{CA: pki.ca, Cert: pki.clientCert, Key: pki.clientKey},
			bad:  worker.NATSConfig{CA: pki.ca},
		},
		{
			name: "nkey seed file",
			server: func(o *server.Options) {
				o.Nkeys = []*server.NkeyUser{{Nkey: nkeyPub}}
			},
			good: worker.NATSConfig{NKey: seedFile},
			bad:  worker.NATSConfig{},
		},
		{
			name: "credentials file",
			server: func(o *server.Options) {
				res := &server.MemAccResolver{}
				if err := res.Store(accPub, accJWT); err != nil {
					t.Fatal(err)
				}
				o.TrustedOperators = []*jwt.OperatorClaims{opClaims}
				o.AccountResolver = res
			},
			good: worker.NATSConfig{Creds: credsFile},
			bad:  worker.NATSConfig{Creds: otherCreds},
		},
	}
	secrets := []string{string(nkeySeed), string(credsSeed), userJWT, pemBody(t, pki.clientKey)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := natstest.DefaultTestOptions
			opts.Port = -1
			tc.server(&opts)
			ns := natstest.RunServer(&opts)
			defer ns.Shutdown()
			url := ns.ClientURL()
			if opts.TLS {
				url = strings.Replace(url, "nats://", "tls://", 1)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

			good := tc.good
			good.URL = url
			nc, err := worker.Connect(good, "tls-test", log)
			if err != nil {
				t.Fatalf("connect with the secret: %v", err)
			}
			sub, err := nc.SubscribeSync("rooms.ping")
			if err != nil {
				t.Fatal(err)
			}
			if err := nc.Publish("rooms.ping", []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "hello" {
				t.Fatalf("round trip over the secured connection: %v", err)
			}
			nc.Close()

			bad := tc.bad
			bad.URL = url
			if nc, err := worker.Connect(bad, "tls-test", log); err == nil {
				nc.Close()
				t.Fatalf("a connection without the secret was accepted")
			} else {
				logs.WriteString(err.Error() + "\n")
			}
			assertNoSecret(t, logs.String(), secrets)
		})
	}
}

// TestPlugNmeetOverHTTPSWithPrivateCA runs a worker against the stand-in served over HTTPS by a
// certificate only PLUGNMEET_CA vouches for: with the CA the room is created; the default client
// refuses the server.
func TestPlugNmeetOverHTTPSWithPrivateCA(t *testing.T) {
	e := testenv.New(t)
	standin := plugnmeettest.NewHandler(plugnmeettest.Options{APIKey: testenv.APIKey, APISecret: testenv.APISecret, Seed: 1})
	srv := httptest.NewUnstartedServer(standin)
	srv.StartTLS()
	defer srv.Close()
	caFile := writeFile(t, t.TempDir(), "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	plain, err := plugnmeet.New(plugnmeet.Config{URL: srv.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.CreateRoom(context.Background(), testenv.Request("untrusted")); err == nil {
		t.Fatal("the default client trusted a server certificate from a private CA")
	}

	hc, err := plugnmeet.HTTPClientWithCA(caFile)
	if err != nil {
		t.Fatal(err)
	}
	api, err := plugnmeet.New(plugnmeet.Config{URL: srv.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	e.StartWorker(api)
	e.Publish(testenv.NewEvent("", testenv.Request("over-https")))
	got := e.WaitResults(1, 15*time.Second)
	if got[0].Ev.Type() != events.TypeRoomCreated || got[0].Created.SID == "" {
		t.Fatalf("result %s %+v, want room.created with a sid", got[0].Ev.Type(), got[0].Failed)
	}
	if n := standin.CreateCalls("over-https"); n != 1 {
		t.Errorf("%d create calls over HTTPS, want 1", n)
	}
	assertNoSecret(t, e.Logs.String(), []string{testenv.APISecret})

	if _, err := plugnmeet.HTTPClientWithCA(writeFile(t, t.TempDir(), "empty.pem", []byte("not a certificate"))); err == nil {
		t.Error("a CA file without a certificate was accepted")
	}
}

func assertNoSecret(t *testing.T, logs string, secrets []string) {
	t.Helper()
	for i, line := range strings.Split(logs, "\n") {
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("log line %d holds secret material: %.80q", i+1, line)
			}
		}
	}
}

type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

// newPKI writes a CA, a server certificate for 127.0.0.1 and a client certificate, all ECDSA.
func newPKI(t *testing.T, dir string) pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "roomworker test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage, ips []net.IP) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		return writeFile(t, dir, name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			writeFile(t, dir, name+"-key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	}
	p := pki{ca: writeFile(t, dir, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))}
	p.serverCert, p.serverKey = issue("server", 2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	p.clientCert, p.clientKey = issue("client", 3, x509.ExtKeyUsageClientAuth, nil)
	return p
}

// writeOtherCreds writes a well-formed credentials file for an account the server does not know.
func writeOtherCreds(t *testing.T, dir string) string {
	t.Helper()
	acc, _ := nkeys.CreateAccount()
	user, _ := nkeys.CreateUser()
	pub, _ := user.PublicKey()
	ujwt, err := jwt.NewUserClaims(pub).Encode(acc)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "other.creds", creds)
}

// pemBody is the base64 body of the PEM file at path: what a leaked key would show.
func pemBody(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if blk == nil || len(lines) < 3 {
		t.Fatalf("%s is not PEM", path)
	}
	return lines[1] // one full line of the key's base64
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
