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

	"github.com/parley-mediation/parley/cases"
)

// Message is a notice to one person: a one-time code, an invitation, an electronic service of a case event.
type Message struct {
	To      string // a phone number or an e-mail address
	Name    string
	Subject string
	Body    string
	// Reference is Parley's reference of the message (a service record's ID), passed to channels that take one
	// (the HTTP SMS provider).
	Reference string
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

// trackedNotifier is a notifier whose channel answers with its own id of each message, by which it reports later
// whether the message arrived (the HTTP SMS provider and its delivery receipts).
type trackedNotifier interface {
	NotifyTracked(ctx context.Context, m Message) (messageID string, err error)
}

func newNotifier(cfg *Config, logger *slog.Logger) Notifier {
	log := logger.With("component", "notify")
	var n Notifier = logNotifier{log}
	if cfg.SMTPAddr != "" {
		n = smtpNotifier{addr: cfg.SMTPAddr, user: cfg.SMTPUser, password: cfg.SMTPPassword, from: cfg.SMTPFrom, smsGateway: cfg.SMTPSMSGateway, log: log}
	}
	if cfg.SMSHTTPURL != "" { // phone numbers go to the HTTP SMS provider, e-mail addresses as before
		n = newHTTPSMSNotifier(cfg, n, log)
	}
	return n
}

// Notices about a party's contact (issue 8 §1), in Chinese and English sentences.

var fieldNames = map[string][2]string{"phone": {"联系电话", "phone number"}, "service_address": {"电子送达地址", "electronic-service address"}}

var confirmationNames = map[string][2]string{
	"old_contact_code": {"原联系方式收到的确认码", "the code sent to the old contact"},
	"second_staff":     {"第二名工作人员复核", "a second staff member's approval"},
	"new_contact_code": {"新联系方式收到的验证码", "the code sent to the new contact"},
}

// changes describes what a correction changes, e.g. "联系电话由 139****0002 改为 137****9999".
func changes(cc *cases.ContactCorrection) (zh, en string) {
	var z, e []string
	add := func(field, from, to string) {
		if from == to {
			return
		}
		n := fieldNames[field]
		f, t := maskContact(from), maskContact(to)
		if from == "" {
			f = "（空）"
		}
		if to == "" {
			t = "（空）"
		}
		z = append(z, fmt.Sprintf("%s由 %s 改为 %s", n[0], f, t))
		e = append(e, fmt.Sprintf("%s from %s to %s", n[1], strings.Trim(f, "（）"), strings.Trim(t, "（）")))
	}
	add("phone", cc.OldPhone, cc.NewPhone)
	add("service_address", cc.OldServiceAddress, cc.NewServiceAddress)
	return strings.Join(z, "，"), strings.Join(e, "; ")
}

// objectHow says how to object to a correction: call the court or organisation handling the case.
func objectHow(c *cases.Case, orgPhone string, ref string) (zh, en string) {
	who := c.CourtName
	if c.Source == cases.SourceDirect || who == "" {
		who = c.OrganisationName
	}
	if orgPhone != "" {
		return fmt.Sprintf("请立即致电%s（%s）提出异议，并告知更正编号 %s", who, orgPhone, ref), fmt.Sprintf("object at once by calling %s (%s), quoting correction %s", who, orgPhone, ref)
	}
	return fmt.Sprintf("请立即联系%s提出异议，并告知更正编号 %s", who, ref), fmt.Sprintf("object at once to %s, quoting correction %s", who, ref)
}

// contactNotice writes the subject and body of one notice of a correction.
func contactNotice(c *cases.Case, orgPhone string, cc *cases.ContactCorrection, n cases.ContactNotice) (subject, body string) {
	zh, en := changes(cc)
	ref := cc.ID
	if len(ref) > 8 {
		ref = ref[:8]
	}
	objZh, objEn := objectHow(c, orgPhone, ref)
	reason := cc.Reason
	if reason == "" {
		reason = "未填写"
	}
	switch n.What {
	case "code_old":
		return "联系方式更正确认 / confirm a change of contact",
			fmt.Sprintf("【Parley 在线调解】%s：%s 申请将您在案件%s中登记的%s，理由：%s。如确系您本人同意，请将确认码 %s 告知经办人员（24 小时内有效）；如您不同意，请勿将确认码告诉任何人，并%s。/ %s asked to change the %s registered for you in case %s (reason: %s). If you agree, give the code %s to the staff member (valid 24 hours). If you do not, share it with no one and %s.",
				n.Name, cc.RequestedByName, c.Number, zh, reason, string(n.Code), objZh, cc.RequestedByName, en, c.Number, reason, string(n.Code), objEn)
	case "code_new":
		return "Parley 验证码 / verification code",
			fmt.Sprintf("【Parley 在线调解】您正在更改案件%s中登记的联系方式（%s），验证码是 %s，10 分钟内有效。请勿告诉他人。/ You are changing your contact in case %s (%s). Your code is %s (valid 10 minutes).",
				c.Number, zh, string(n.Code), c.Number, en, string(n.Code))
	case "applied_old":
		if cc.Kind == cases.CorrectionSelf {
			return "联系方式已更改 / your contact was changed",
				fmt.Sprintf("【Parley 在线调解】%s：您已在案件%s中将%s。如非您本人操作，%s。/ Your %s in case %s was changed from your own session. If this was not you, %s.",
					n.Name, c.Number, zh, objZh, en, c.Number, objEn)
		}
		how := confirmationNames[cc.Confirmation]
		return "联系方式已更正 / your contact was corrected",
			fmt.Sprintf("【Parley 在线调解】%s：您在案件%s中登记的%s。申请人：%s，确认方式：%s（%s），理由：%s。此前发给您的案件链接已全部失效，已登录的会话已结束。如非您本人同意，%s。/ In case %s, your %s. Asked by %s, confirmed by %s (%s), reason: %s. Earlier links no longer work and open sessions were ended. If you did not agree, %s.",
				n.Name, c.Number, zh, cc.RequestedByName, how[0], cc.ConfirmedByName, reason, objZh, c.Number, en, cc.RequestedByName, how[1], cc.ConfirmedByName, reason, objEn)
	case "applied_new":
		return "联系方式已更新 / contact updated",
			fmt.Sprintf("【Parley 在线调解】%s：案件%s今后的通知和验证码将发送到本联系方式。如您并非该案当事人，请忽略本消息。/ Notices and codes of case %s will now come to this contact. If you are not a party to it, ignore this message.",
				n.Name, c.Number, c.Number)
	case "rejected_old":
		verb, verbEn := "已被驳回", "was turned down"
		if cc.Status == cases.CorrectionCancelled {
			verb, verbEn = "已被撤回", "was withdrawn"
		}
		return "联系方式更正未生效 / contact unchanged",
			fmt.Sprintf("【Parley 在线调解】%s：%s 关于更正您在案件%s中联系方式（%s）的申请%s，您的联系方式没有改动，此前的确认码作废。/ The request by %s to change your contact in case %s (%s) %s: nothing changed, and the code sent earlier is void.",
				n.Name, cc.RequestedByName, c.Number, zh, verb, cc.RequestedByName, c.Number, en, verbEn)
	}
	return "案件通知 / case notice", fmt.Sprintf("【Parley 在线调解】案件%s有新的进展，请登录查看。/ Case %s has news: please log in.", c.Number, c.Number)
}

// eventNotices are the sentences a party is served when a workflow event asks for its attention.
var eventNotices = map[string][2]string{
	"case.disclose":          {"调解员披露了可能影响其公正调解的情况，请登录回复是否同意该调解员继续调解", "the mediator disclosed circumstances that may affect their impartiality: log in to say whether they should continue"},
	"case.request_extension": {"调解员申请延长调解期限，请登录表示是否同意", "the mediator asks to extend the time limit: log in to say whether you agree"},
}

// eventNotice is the sentence for a workflow event served to a party; never the raw event name.
func eventNotice(typ string) (zh, en string) {
	if n, ok := eventNotices[typ]; ok {
		return n[0], n[1]
	}
	return "案件有新的事项需要您处理", "there is something for you to do"
}
