package signing

import (
	"fmt"
	"strings"
	"time"
)

// labels holds the fixed texts of the generated documents in one language.
type labels struct {
	lang                                       string
	platform, caseNo, docID, verifyAt          string
	pageOf                                     func(page int, total string) string
	agreementTitle, recordTitle, certTitle     string
	court, organisation, mediators, parties    string
	idPerson, idCompany, address, legalRep     string
	agent, agentOf                             string
	facts, issues, terms, termsIntro           string
	schedule, otherClauses, signatures         string
	effectClause                               string
	installment, amount, due, method, payer    string
	payee                                      string
	sign, seal, signedFor                      string
	sealImage                                  string // caption of a company's uploaded seal picture
	roles                                      map[string]string
	recordTime, recordPlace, online            string
	participants, name, role, attends          string
	identity, checkMethod, checkResult         string
	checkBy, checkAt, attendance, joined, left string
	proceedings, confirmedFacts, recordClose   string
	recordings, recKind, recStart, recDuration string
	recHash                                    string
	certIntro, docTitle, docHash, pageCount    string
	signerCount, completed, signersHeading     string
	signer, idMethod, signedAt, tsAt, certFP   string
	certNote, eventsHeading, eventAt, event    string
	date                                       func(time.Time) string
	dateTime                                   func(time.Time) string
	money                                      func(int64) string
	enumerate                                  func(int) string
	sep, colon                                 string
	// Issue 9 §4: what a court expects in the agreement.
	cause, addressPerson, sex, birth, male, female string
	authority, authGeneral, authSpecial            string
	courtDelegated, courtEntrusted                 string
	sigPageNote                                    func(subject string) string
	pageHash                                       string
}

func labelsFor(lang string) labels {
	if lang == "en" {
		return labelsEN
	}
	return labelsZH
}

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func moneyString(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%s.%02d", sign, groupThousands(fen/100), fen%100)
}

var chineseOrdinals = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五"}

var labelsZH = labels{
	lang:           "zh",
	platform:       "Parley 在线调解平台",
	caseNo:         "案号：",
	docID:          "文书编号：",
	cause:          "案由：",
	addressPerson:  "住址：",
	sex:            "性别：",
	birth:          "出生日期：",
	male:           "男",
	female:         "女",
	authority:      "代理权限：",
	authGeneral:    "一般授权",
	authSpecial:    "特别授权",
	courtDelegated: "委派调解法院：",
	courtEntrusted: "委托调解法院：",
	sigPageNote:    func(subject string) string { return "（此页无正文，为" + subject + "签署页）" },
	pageHash:       "本页校验码：",
	verifyAt:       "扫描二维码或访问以下地址核验本文书：",
	pageOf:         func(p int, total string) string { return fmt.Sprintf("第 %d 页 / 共 %s 页", p, total) },

	agreementTitle: "调解协议书",
	recordTitle:    "调解笔录",
	certTitle:      "签署完成证明",
	court:          "委派（委托）法院：",
	organisation:   "调解组织：",
	mediators:      "调解员：",
	parties:        "当事人",
	idPerson:       "身份证件号码：",
	idCompany:      "统一社会信用代码：",
	address:        "住所：",
	legalRep:       "法定代表人：",
	agent:          "委托代理人：",
	agentOf:        "的委托代理人",
	facts:          "纠纷事实",
	issues:         "争议焦点",
	terms:          "调解协议内容",
	termsIntro:     "经调解员主持调解，各方当事人在自愿、合法的基础上达成如下协议：",
	schedule:       "履行安排",
	otherClauses:   "其他条款",
	signatures:     "签署",
	effectClause:   "本协议自各方当事人签名之日起生效。各方当事人签名时间不一致的，自最后一方当事人签名之日起生效。",
	installment:    "期次",
	amount:         "金额",
	due:            "履行期限",
	method:         "履行方式",
	payer:          "付款方",
	payee:          "收款方",
	sign:           "（签名）",
	seal:           "（盖章）",
	sealImage:      "印章图像（非电子签章）",
	signedFor:      "代理人",
	roles: map[string]string{
		RoleApplicant: "申请人", RoleRespondent: "被申请人", RoleAgent: "委托代理人", RoleMediator: "调解员",
		RoleOrganisation: "调解组织", RoleJudge: "法官", RoleClerk: "书记员", RoleCourt: "法院",
		RolePlatform: "平台", RoleOther: "其他参加人",
	},
	recordTime:     "调解时间：",
	recordPlace:    "调解地点：",
	online:         "线上（Parley 在线调解平台，音视频方式）",
	participants:   "参加人员",
	name:           "姓名",
	role:           "身份",
	attends:        "参加方式",
	identity:       "身份核验",
	checkMethod:    "核验方式",
	checkResult:    "核验结果",
	checkBy:        "核验人",
	checkAt:        "核验时间",
	attendance:     "出席记录",
	joined:         "进入时间",
	left:           "离开时间",
	proceedings:    "调解过程记录",
	recordings:     "录音录像",
	recKind:        "类型",
	recStart:       "开始时间",
	recDuration:    "时长",
	recHash:        "SHA-256",
	confirmedFacts: "经各方确认的事实",
	recordClose:    "以上笔录已经各参加人在线阅读，确认无误。",
	certIntro:      "Parley 在线调解平台证明下列文书已由以下签署人依次完成电子签名。每一签名均为 PAdES 签名（ETSI.CAdES.detached），附有 RFC 3161 时间戳；签名证书由 Parley 证书机构签发，签名私钥由签署人本人持有（机构印章及法院签名除外）。本证明本身由平台密钥签名。",
	docTitle:       "文书名称",
	docHash:        "最终版本 SHA-256",
	pageCount:      "页数",
	signerCount:    "签署人数",
	completed:      "完成时间",
	signersHeading: "签署人",
	signer:         "签署人／身份",
	idMethod:       "身份核验",
	signedAt:       "签署时间",
	tsAt:           "时间戳",
	certFP:         "证书指纹（SHA-256）",
	certNote:       "核验方法：以 Parley 根证书为信任锚（导入 pdfsig 的 NSS 证书库、pdfcpu 的证书库，或作为 openssl 的 CAfile），用 pdfsig（poppler）、openssl cms -verify、pdfcpu 或 digitorus/pdfsign 检查文书中的每一个签名（文档时间戳用 openssl ts -verify 或 pdfcpu），并核对文书的 SHA-256 与本证明所载一致。Parley 的测试以这四种工具核验其生成的每一份文书。",
	eventsHeading:  "审计记录",
	eventAt:        "时间",
	event:          "事件",
	date:           func(t time.Time) string { return t.Format("2006年1月2日") },
	dateTime:       func(t time.Time) string { return t.Format("2006-01-02 15:04:05 -07:00") },
	money:          func(fen int64) string { return "人民币" + moneyString(fen) + "元" },
	enumerate: func(i int) string {
		if i >= 1 && i <= len(chineseOrdinals) {
			return chineseOrdinals[i-1] + "、"
		}
		return fmt.Sprintf("%d、", i)
	},
	sep:   "、",
	colon: "：",
}

var labelsEN = labels{
	lang:           "en",
	platform:       "Parley online mediation",
	caseNo:         "Case no. ",
	docID:          "Document ID: ",
	cause:          "Cause of action: ",
	addressPerson:  "Address: ",
	sex:            "Sex: ",
	birth:          "Date of birth: ",
	male:           "male",
	female:         "female",
	authority:      "Scope of authority: ",
	authGeneral:    "general authority",
	authSpecial:    "special authority",
	courtDelegated: "Court (pre-filing referral, 委派): ",
	courtEntrusted: "Court (post-filing referral, 委托): ",
	sigPageNote: func(subject string) string {
		return "(This page has no text; it is the signature page of " + subject + ".)"
	},
	pageHash: "Page check code: ",
	verifyAt: "Scan the QR code or visit this address to verify this document: ",
	pageOf:   func(p int, total string) string { return fmt.Sprintf("Page %d of %s", p, total) },

	agreementTitle: "Mediation Agreement",
	recordTitle:    "Record of Mediation Session",
	certTitle:      "Certificate of Completion",
	court:          "Referring court: ",
	organisation:   "Mediation organisation: ",
	mediators:      "Mediator(s): ",
	parties:        "Parties",
	idPerson:       "ID number: ",
	idCompany:      "Unified social credit code: ",
	address:        "Address: ",
	legalRep:       "Legal representative: ",
	agent:          "Authorised agent: ",
	agentOf:        ", agent of ",
	facts:          "Facts of the dispute",
	issues:         "Issues in dispute",
	terms:          "Agreed terms",
	termsIntro:     "Under the mediator's guidance the parties have voluntarily and lawfully agreed as follows:",
	schedule:       "Performance schedule",
	otherClauses:   "Other clauses",
	signatures:     "Signatures",
	effectClause:   "This agreement takes effect on the day the parties sign it; if they sign on different days, it takes effect on the day the last party signs.",
	installment:    "No.",
	amount:         "Amount",
	due:            "Due",
	method:         "Method",
	payer:          "Payer",
	payee:          "Payee",
	sign:           " (signature)",
	seal:           " (seal)",
	sealImage:      "Seal image, not a digital seal",
	signedFor:      "agent",
	roles: map[string]string{
		RoleApplicant: "Applicant", RoleRespondent: "Respondent", RoleAgent: "Agent", RoleMediator: "Mediator",
		RoleOrganisation: "Mediation organisation", RoleJudge: "Judge", RoleClerk: "Clerk", RoleCourt: "Court",
		RolePlatform: "Platform", RoleOther: "Participant",
	},
	recordTime:     "Time: ",
	recordPlace:    "Place: ",
	online:         "online (Parley, audio/video)",
	participants:   "Participants",
	name:           "Name",
	role:           "Role",
	attends:        "Joined by",
	identity:       "Identity checks",
	checkMethod:    "Method",
	checkResult:    "Result",
	checkBy:        "Checked by",
	checkAt:        "Time",
	attendance:     "Attendance",
	joined:         "Joined",
	left:           "Left",
	proceedings:    "Record of the session",
	recordings:     "Recordings",
	recKind:        "Kind",
	recStart:       "Start",
	recDuration:    "Duration",
	recHash:        "SHA-256",
	confirmedFacts: "Facts confirmed by the parties",
	recordClose:    "The participants have read this record online and confirm that it is accurate.",
	certIntro:      "Parley certifies that the document below was signed electronically by the signers listed, in this order. Each signature is a PAdES signature (ETSI.CAdES.detached) with an RFC 3161 timestamp; the certificates were issued by Parley's certificate authority and each signing key is held by the signer alone (except organisation seals and court signatures). This certificate is itself signed with the platform key.",
	docTitle:       "Document",
	docHash:        "SHA-256 of the final version",
	pageCount:      "Pages",
	signerCount:    "Signers",
	completed:      "Completed",
	signersHeading: "Signers",
	signer:         "Signer / role",
	idMethod:       "Identity check",
	signedAt:       "Signed",
	tsAt:           "Timestamp",
	certFP:         "Certificate SHA-256",
	certNote:       "To verify: with Parley's root certificate as trust anchor (imported into pdfsig's NSS database or pdfcpu's certificate store, or as openssl's CAfile), check every signature of the document with pdfsig (poppler), openssl cms -verify, pdfcpu or digitorus/pdfsign (document timestamps with openssl ts -verify or pdfcpu), and compare the document's SHA-256 with the one above. Parley's tests check every document it produces with these four tools.",
	eventsHeading:  "Audit trail",
	eventAt:        "Time",
	event:          "Event",
	date:           func(t time.Time) string { return t.Format("2 January 2006") },
	dateTime:       func(t time.Time) string { return t.Format("2006-01-02 15:04:05 -07:00") },
	money:          func(fen int64) string { return "CNY " + moneyString(fen) },
	enumerate:      func(i int) string { return fmt.Sprintf("%d. ", i) },
	sep:            ", ",
	colon:          ": ",
}

func (lab labels) roleName(role string) string {
	if s, ok := lab.roles[role]; ok {
		return s
	}
	return role
}

// comma separates the parts of one statement (性别：男，出生日期：…).
func (l labels) comma() string {
	if l.lang == "en" {
		return ", "
	}
	return "，"
}
