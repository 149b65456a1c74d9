package signing

import "time"

var testZone = time.FixedZone("CST", 8*3600)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2025, 3, 1, 10, 20, 30, 0, testZone)

func sampleAgreement(lang string) *Agreement {
	return &Agreement{
		Meta: Meta{
			DocumentID:    "DOC-2025-000123",
			CaseNumber:    "(2025)京0108民诉前调1234号",
			Court:         "北京市海淀区人民法院",
			VerifyBaseURL: "https://parley.example.cn",
			Lang:          lang,
			Created:       testNow,
		},
		Organisation: "北京市海淀区知识产权纠纷人民调解委员会",
		Mediators:    []string{"王五"},
		Parties: []Party{
			{Role: RoleApplicant, Kind: Person, Name: "张三", IDNumber: "110101199001011234", Address: "北京市海淀区中关村大街1号"},
			{Role: RoleRespondent, Kind: Company, Name: "北京某某科技有限公司", IDNumber: "91110108MA01ABCD2X",
				Address: "北京市海淀区上地十街10号", Representative: "赵六",
				Agent: &Agent{Name: "李四", Firm: "北京某某律师事务所律师", Authority: "特别授权"}},
		},
		Facts: "申请人张三系摄影作品《春日颐和园》的著作权人。被申请人未经许可，在其运营的微信公众号“某某科技”中使用了上述作品，共计三幅。\n申请人于2025年1月向北京市海淀区人民法院起诉，法院于立案前委派本委员会调解。",
		Issues: []string{
			"被申请人使用涉案作品是否构成侵权；",
			"赔偿数额的确定。",
		},
		Terms: []string{
			"被申请人确认未经许可使用了申请人享有著作权的摄影作品三幅，并于本协议生效之日起三日内删除上述作品。",
			"被申请人向申请人支付经济损失及合理开支共计人民币三万元（¥30,000.00），按下列履行安排分两期支付。",
			"申请人放弃其他诉讼请求，并在收到第一期款项后七日内向法院撤回起诉。",
			"双方就本纠纷再无其他争议。",
		},
		Schedule: []Installment{
			{Amount: 2000000, Due: time.Date(2025, 3, 15, 0, 0, 0, 0, testZone), Method: "银行转账至申请人指定账户", Payer: "被申请人", Payee: "申请人"},
			{Amount: 1000000, Due: time.Date(2025, 4, 15, 0, 0, 0, 0, testZone), Method: "银行转账至申请人指定账户", Payer: "被申请人", Payee: "申请人"},
		},
		OtherClauses: []string{
			"被申请人逾期履行任何一期付款义务的，申请人有权就全部未付款项申请强制执行。",
			"双方当事人可以自本协议生效之日起三十日内，共同向北京市海淀区人民法院申请司法确认。",
		},
	}
}
