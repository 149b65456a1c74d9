package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Message is a notice to one person: a one-time code, an invitation, an electronic service of a case event.
type Message struct {
	To      string // a phone number or an e-mail address
	Name    string
	Subject string
	Body    string
}

// Notifier delivers notices to parties.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
	// Channel says how a message to this address travels ("sms", "email", "log").
	Channel(to string) string
}

// logNotifier writes notices to the log: the default, for development and for sites that deliver notices
// another way. One-time codes appear in the log, so don't run it like this in production.
type logNotifier struct{ log *slog.Logger }

func (n logNotifier) Notify(ctx context.Context, m Message) error {
	n.log.Info("notice (log notifier: configure PARLEY_SMTP_ADDR to send)", "to", m.To, "name", m.Name, "subject", m.Subject, "body", m.Body)
	return nil
}

func (n logNotifier) Channel(string) string { return "log" }

// smtpNotifier sends notices by e-mail; phone numbers go through an e-mail-to-SMS gateway when one is set, and
// to the log otherwise.
type smtpNotifier struct {
	addr, user, password, from, smsGateway string
	log                                    *slog.Logger
}

func (n smtpNotifier) Channel(to string) string {
	switch {
	case strings.Contains(to, "@"):
		return "email"
	case n.smsGateway != "":
		return "sms"
	}
	return "log"
}

func (n smtpNotifier) Notify(ctx context.Context, m Message) error {
	rcpt := m.To
	switch n.Channel(m.To) {
	case "sms":
		rcpt = fmt.Sprintf(n.smsGateway, strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r == '+' {
				return r
			}
			return -1
		}, m.To))
	case "log":
		return logNotifier{n.log}.Notify(ctx, m)
	}
	if strings.ContainsAny(rcpt, "\r\n") || strings.ContainsAny(n.from, "\r\n") {
		return fmt.Errorf("notify: address contains a line break")
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		n.from, rcpt, mime.QEncoding.Encode("UTF-8", m.Subject), time.Now().Format(time.RFC1123Z))
	enc := base64.StdEncoding.EncodeToString([]byte(m.Body))
	for len(enc) > 76 {
		msg.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	msg.WriteString(enc + "\r\n")
	return n.send(ctx, rcpt, []byte(msg.String()))
}

// send delivers one message, with STARTTLS when the server offers it and PLAIN auth when a user is set.
func (n smtpNotifier) send(ctx context.Context, rcpt string, msg []byte) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", n.addr)
	if err != nil {
		return fmt.Errorf("notify: dial %s: %w", n.addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(n.addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("notify: smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fmt.Errorf("notify: starttls: %w", err)
		}
	}
	if n.user != "" {
		if err := c.Auth(smtp.PlainAuth("", n.user, n.password, host)); err != nil {
			return fmt.Errorf("notify: auth: %w", err)
		}
	}
	if err := c.Mail(n.from); err != nil {
		return fmt.Errorf("notify: mail from: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("notify: rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("notify: data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("notify: data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("notify: data: %w", err)
	}
	return c.Quit()
}

func newNotifier(cfg *Config, logger *slog.Logger) Notifier {
	if cfg.SMTPAddr == "" {
		return logNotifier{logger.With("component", "notify")}
	}
	return smtpNotifier{addr: cfg.SMTPAddr, user: cfg.SMTPUser, password: cfg.SMTPPassword, from: cfg.SMTPFrom, smsGateway: cfg.SMTPSMSGateway, log: logger.With("component", "notify")}
}
