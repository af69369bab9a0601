package mqttbroker

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func TestBroker(t *testing.T) {
	b, err := Start(Config{Listen: "127.0.0.1:0", Users: map[string]string{"edge": "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	url := "tcp://" + b.Addr().String()
	connect := func(user, pw string) (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetUsername(user).SetPassword(pw).
			SetClientID("c-" + user + pw).SetAutoReconnect(false).SetConnectRetry(false))
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		return c, tok.Error()
	}
	for _, tc := range []struct{ name, user, pw string }{{"wrong password", "edge", "nope"}, {"unknown user", "x", "pw"}} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := connect(tc.user, tc.pw); err == nil {
				c.Disconnect(0)
				t.Fatal("connected")
			}
		})
	}
	c, err := connect("edge", "pw")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(0)
	got := make(chan string, 1)
	if tok := c.Subscribe("a/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	c.Publish("a/b", 1, false, "hello")
	select {
	case s := <-got:
		if s != "hello" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
}

func TestReadUsers(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"good", "# users\nedge:p:w\n\nhost:x\n", true},
		{"no colon", "edge\n", false},
		{"empty", "\n# nothing\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			os.WriteFile(p, []byte(tc.text), 0o600)
			u, err := ReadUsers(p)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
			if tc.ok && (u["edge"] != "p:w" || u["host"] != "x") {
				t.Fatalf("users = %v", u)
			}
		})
	}
}
