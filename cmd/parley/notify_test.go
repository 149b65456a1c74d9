package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// smtpSink is a minimal SMTP server on loopback that keeps what it receives.
func smtpSink(t *testing.T) (addr string, got <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				tp := textproto.NewConn(c)
				tp.PrintfLine("220 sink")
				var env strings.Builder
				for {
					line, err := tp.ReadLine()
					if err != nil {
						return
					}
					cmd := strings.ToUpper(line)
					switch {
					case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
						tp.PrintfLine("250 sink")
					case strings.HasPrefix(cmd, "MAIL FROM"), strings.HasPrefix(cmd, "RCPT TO"):
						env.WriteString(line + "\n")
						tp.PrintfLine("250 ok")
					case cmd == "DATA":
						tp.PrintfLine("354 go")
						data, err := tp.ReadDotLines()
						if err != nil {
							return
						}
						env.WriteString(strings.Join(data, "\n"))
						tp.PrintfLine("250 queued")
						ch <- env.String()
					case cmd == "QUIT":
						tp.PrintfLine("221 bye")
						return
					default:
						tp.PrintfLine("502 no")
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), ch
}

func TestSMTPNotifier(t *testing.T) {
	addr, got := smtpSink(t)
	n := smtpNotifier{addr: addr, from: "parley@court.example", smsGateway: "%s@sms.example.cn", log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range []struct{ to, rcpt string }{
		{"legal@xingyun.example.cn", "RCPT TO:<legal@xingyun.example.cn>"},
		{"+86 139-0000-0001", "RCPT TO:<+8613900000001@sms.example.cn>"},
	} {
		if err := n.Notify(ctx, Message{To: tt.to, Name: "张三", Subject: "调解邀请", Body: "您的验证码是 123456"}); err != nil {
			t.Fatalf("notify %s: %v", tt.to, err)
		}
		msg := <-got
		if !strings.Contains(msg, tt.rcpt) {
			t.Errorf("envelope %q lacks %q", msg, tt.rcpt)
		}
		if !strings.Contains(msg, "=?UTF-8?q?") {
			t.Errorf("subject not encoded: %q", msg)
		}
		_, body, _ := strings.Cut(msg, "Content-Transfer-Encoding: base64\n\n")
		dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.TrimSpace(body), "\n", ""))
		if err != nil || string(dec) != "您的验证码是 123456" {
			t.Errorf("body %q (%v)", dec, err)
		}
	}
	if err := n.Notify(ctx, Message{To: "evil@example.cn\r\nRCPT TO:<x@y>", Body: "x"}); err == nil {
		t.Error("a recipient with a line break was accepted")
	}
	bad := smtpNotifier{addr: "127.0.0.1:1", from: "p@x", log: slog.New(slog.DiscardHandler)}
	if err := bad.Notify(ctx, Message{To: "a@b.cn", Body: "x"}); err == nil {
		t.Error("an unreachable SMTP server reported success")
	}
}
