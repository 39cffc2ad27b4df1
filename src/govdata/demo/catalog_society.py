"""What the provincial departments serving people and public order catalogue."""

from __future__ import annotations

from govdata.demo.catalog_data import API, DB, DOC, IR, XLS, D, H, M, Q, R, Template, W, Y, t

# fmt: off
SOCIETY: dict[str, tuple[Template, ...]] = {
    "gov_office": (
        t(
            "省政府规范性文件信息", "301003", "open", IR, DOC,
            "文件名称:title:C200 文号:doc_no:C64:k 发文机关:issuer:C100 成文日期:signed_on:D "
            "发布日期:published_on:D 有效性:validity:C8 全文链接:url:C500",
            "省政府及省政府办公厅制发的规范性文件目录及全文，含文号、成文日期和有效性标注。",
        ),
        t(
            "政务督查督办事项信息", "301001", "inner", W, DB,
            "事项编号:item_no:C32:k 督办事项:subject:C500 责任单位:responsible:C200 "
            "交办日期:assigned_on:D 办结时限:deadline:D 办理进展:progress:C1000 "
            "办结状态:status:C8",
        ),
        t(
            "政府信息公开申请办理信息", "301003", "personal", M, DB,
            "申请编号:request_no:C32:k @name=申请人姓名 @phone=申请人联系电话 "
            "申请内容:content:C2000 收到日期:received_on:D 答复日期:replied_on:D "
            "答复类型:reply_type:C16",
        ),
        t(
            "省政府常务会议议定事项信息", "301001", "secret", IR, DOC,
            "会议期次:session_no:C16:k 会议日期:meeting_on:D 议定事项:decision:C2000 "
            "牵头单位:lead_unit:C100 落实情况:progress:C1000",
        ),
    ),
    "edu": (
        t(
            "中小学生学籍信息", "213001", "personal", D, DB,
            "全国学籍号:student_no:C19:k @id_no @name @gender @ethnicity @birth "
            "学校名称:school:C100 学校标识码:school_code:C10 年级:grade:C8 班级:class_name:C16 "
            "入学日期:enrolled_on:D 学籍状态:status:C8 @addr=家庭住址 @phone=监护人联系电话",
            "全省中小学生电子学籍，来源于全国中小学生学籍信息管理系统青海省级平台。",
            ("学籍", "学生"),
        ),
        t(
            "普通高等学校毕业生信息", "213003", "personal", Y, DB,
            "@id_no @name @gender 毕业院校:university:C100 院校代码:university_code:C5 "
            "专业:major:C64 学历层次:level:C8 毕业年份:graduated_year:N:k 生源地:origin:C64 "
            "就业去向:destination:C100",
        ),
        t(
            "高等教育学历证书信息", "213003", "personal", Y, DB,
            "证书编号:certificate_no:C18:k @id_no @name @gender @birth 院校名称:university:C100 "
            "专业:major:C64 层次:level:C8 学习形式:mode:C8 入学日期:enrolled_on:D "
            "毕业日期:graduated_on:D",
        ),
        t(
            "教师资格证书信息", "213004", "cond", M, DB,
            "证书号码:certificate_no:C17:k @id_no @name @gender 资格种类:kind:C32 "
            "任教学科:subject:C32 认定机构:authority:C100 认定日期:issued_on:D",
        ),
        t(
            "各级各类学校基本信息", "213002", "open", Y, DB,
            "学校标识码:school_code:C10:k 学校名称:school:C100 办学类型:kind:C32 "
            "举办者:sponsor:C100 @region=所在地行政区划代码 地址:location:C200 "
            "在校生数:students:N 专任教师数:teachers:N 联系电话:office_phone:C20",
        ),
        t(
            "学生资助信息", "309001", "personal", H, DB,
            "@id_no @name 学校名称:school:C100 资助项目:program:C64 资助金额（元）:amount:M10 "
            "资助学年:school_year:C9:k 家庭经济困难认定等级:need_level:C8 发放日期:paid_on:D",
        ),
        t(
            "普通高考录取信息", "309001", "personal", Y, DB,
            "考生号:exam_no:C14:k @id_no @name @gender 录取院校:university:C100 "
            "录取专业:major:C64 批次:batch:C16 科类:track:C8 投档成绩:score:M5 "
            "录取日期:admitted_on:D",
        ),
        t(
            "校外培训机构审批信息", "213002", "open", M, DB,
            "办学许可证号:permit_no:C32:k 机构名称:org_name:C200 @uscc 培训类别:kind:C16 "
            "办学地址:location:C200 审批机关:authority:C100 审批日期:approved_on:D",
        ),
    ),
    "ethnic": (
        t(
            "宗教活动场所登记信息", "310002", "cond", IR, DB,
            "登记证号:certificate_no:C32:k 场所名称:site_name:C100 宗教类别:religion:C16 "
            "@region=所在地行政区划代码 地址:location:C200 登记日期:registered_on:D",
        ),
        t(
            "宗教教职人员备案信息", "310002", "secret", IR, DB,
            "备案号:filing_no:C32:k @id_no @name @gender @ethnicity 宗教类别:religion:C16 "
            "教职:title:C32 所在场所:site_name:C100",
        ),
        t(
            "民族团结进步示范区（单位）信息", "310003", "open", Y, XLS,
            "单位名称:unit:C200:k 命名类别:kind:C32 命名批次:batch:C32 @region=所在地行政区划代码",
        ),
    ),
    "police": (
        t(
            "居民身份证信息", "105001", "personal", R, DB,
            "@id_no:k @name @gender @ethnicity @birth @addr 签发机关:issuer:C100 "
            "有效期起始日期:valid_from:D 有效期截止日期:valid_until:D 证件状态:status:C8",
            "居民身份证申领、换领、补领后的证件信息，提供公民身份号码与姓名一致性核验。",
            ("身份证", "实名核验"),
        ),
        t(
            "居民身份信息核验服务", "101001", "cond", R, API,
            "@id_no:k @name 核验结果:result:C8 核验时间:checked_at:T",
            "以公民身份号码和姓名核验身份信息是否一致，仅返回一致或不一致，不返回身份信息本身。",
            ("身份核验", "实名认证"),
        ),
        t(
            "机动车驾驶证信息", "105007", "personal", D, DB,
            "档案编号:file_no:C12:k @id_no @name @gender 准驾车型:vehicle_class:C16 "
            "初次领证日期:first_issued_on:D 有效期起始日期:valid_from:D 有效期限:validity:C8 "
            "累积记分:points:N 驾驶证状态:status:C8",
        ),
        t(
            "机动车登记信息", "214002", "personal", D, DB,
            "号牌号码:plate_no:C15:k 号牌种类:plate_kind:C2 车辆类型:vehicle_type:C8 "
            "车辆品牌:brand:C64 车辆识别代号:vin:C17 所有人:owner:C100 @id_no=所有人证件号码 "
            "初次登记日期:registered_on:D 使用性质:use_kind:C8 机动车状态:status:C8",
        ),
        t(
            "流动人口居住登记信息", "101006", "personal", D, DB,
            "@id_no:k @name @gender @birth 户籍地址:registered_address:C200:s @addr=居住地址 "
            "居住事由:reason:C16 登记日期:registered_on:D @phone",
        ),
        t(
            "居住证信息", "101006", "personal", D, DB,
            "居住证号码:permit_no:C18:k @id_no @name @addr=居住地址 签发机关:issuer:C100 "
            "签发日期:issued_on:D 有效期截止日期:valid_until:D",
        ),
        t(
            "出入境证件签发信息", "101007", "secret", D, DB,
            "证件号码:document_no:C12:k 证件类型:document_type:C16 @id_no @name @gender @birth "
            "签发日期:issued_on:D 有效期至:valid_until:D 签发机关:issuer:C100",
        ),
        t(
            "道路交通事故信息", "304004", "cond", D, DB,
            "事故编号:accident_no:C32:k 发生时间:occurred_at:T 事故地点:location:C200 @region "
            "事故形态:kind:C16 死亡人数:deaths:N 受伤人数:injuries:N 直接财产损失（元）:loss:M12 "
            "事故认定结果:finding:C500",
        ),
        t(
            "道路交通违法处理信息", "304004", "personal", D, DB,
            "决定书编号:decision_no:C32:k 号牌号码:plate_no:C15 @id_no=当事人证件号码 "
            "@name=当事人姓名 违法时间:occurred_at:T 违法地点:location:C200 "
            "违法行为:offence:C200 罚款金额（元）:fine:M8 记分:points:N 处理时间:handled_at:T",
        ),
        t(
            "户口迁移和出生登记信息", "101002", "personal", D, DB,
            "业务流水号:serial_no:C32:k @id_no @name @gender @birth 业务类型:kind:C16 "
            "迁出地:moved_from:C200 迁入地:moved_to:C200 办理日期:handled_on:D "
            "办理机关:authority:C100",
        ),
    ),
    "civil": (
        t(
            "特困人员救助供养信息", "203003", "personal", M, DB,
            "@id_no:k @name @gender @birth @ethnicity @region=户籍所在地行政区划代码 @addr "
            "供养方式:care_mode:C8 基本生活标准（元/月）:basic_amount:M10 "
            "照料护理标准（元/月）:care_amount:M10 认定日期:approved_on:D 救助状态:status:C8",
            "城乡特困人员认定及救助供养信息，按月发放。",
            ("特困", "五保", "社会救助"),
        ),
        t(
            "临时救助信息", "203004", "personal", M, DB,
            "救助编号:case_no:C24:k @id_no @name @region @addr 救助类型:kind:C16 "
            "救助金额（元）:amount:M10 救助事由:reason:C500 审批日期:approved_on:D",
        ),
        t(
            "社会组织登记信息", "102004", "open", D, DB,
            "@uscc:k 社会组织名称:org_name:C200 组织类型:kind:C16 @legal "
            "业务主管单位:supervisor:C100 住所:location:C200 注册资金（万元）:capital:M12 "
            "成立登记日期:registered_on:D 登记状态:status:C8",
            "社会团体、民办非企业单位（社会服务机构）和基金会的登记信息。",
            ("社团", "社会组织"),
        ),
        t(
            "养老机构信息", "303001", "open", Q, DB,
            "机构名称:org_name:C200:k @uscc 机构性质:kind:C16 @region 地址:location:C200 "
            "床位数:beds:N 在住老人数:residents:N 备案日期:filed_on:D 联系电话:office_phone:C20",
        ),
        t(
            "困难残疾人生活补贴和重度残疾人护理补贴信息", "203006", "personal", M, DB,
            "@id_no:k @name @gender 残疾证号:disability_no:C20:s 残疾类别:disability_kind:C8 "
            "残疾等级:disability_level:C4 补贴类别:kind:C32 补贴金额（元/月）:amount:M8 "
            "发放年月:period:C7",
        ),
        t(
            "孤儿和事实无人抚养儿童信息", "303001", "personal", M, DB,
            "@id_no:k @name @gender @birth @region 儿童类别:kind:C16 保障方式:care_mode:C16 "
            "基本生活费（元/月）:amount:M8 监护人姓名:guardian:C50 @phone=监护人联系电话",
        ),
        t(
            "殡葬火化信息", "101004", "personal", D, DB,
            "火化证明编号:certificate_no:C24:k @id_no=逝者公民身份号码 @name=逝者姓名 @gender "
            "死亡日期:died_on:D 火化日期:cremated_on:D 殡仪馆:funeral_home:C100",
        ),
        t(
            "地名信息", "103001", "open", IR, DB,
            "地名代码:place_code:C20:k 标准名称:name:C100 罗马字母拼写:romanized:C200 "
            "地名类别:kind:C16 @region=所在行政区划代码 @lng @lat 地名含义:meaning:C1000",
        ),
        t(
            "城乡社区（村）基本信息", "210002", "open", Y, DB,
            "社区代码:community_code:C12:k 社区（村）名称:community:C100 "
            "@region=所属县级行政区划代码 所属乡镇（街道）:township:C100 户数:households:N "
            "人口数:population:N 办公电话:office_phone:C20",
        ),
        t(
            "低收入人口动态监测信息", "303001", "personal", M, DB,
            "@id_no:k @name @region @addr 人口类别:kind:C32 家庭人口数:family_size:N "
            "家庭人均月收入（元）:income:M10 预警类型:alert:C32 纳入日期:included_on:D",
        ),
    ),
    "justice": (
        t(
            "律师执业信息", "303003", "open", M, DB,
            "执业证号:license_no:C17:k @name @gender 执业机构:firm:C200 执业类别:kind:C16 "
            "首次执业日期:first_licensed_on:D 执业状态:status:C8",
        ),
        t(
            "律师事务所信息", "303003", "open", M, DB,
            "@uscc:k 律师事务所名称:org_name:C200 组织形式:kind:C16 负责人:chief:C50 "
            "住所:location:C200 律师人数:lawyers:N 设立日期:established_on:D",
        ),
        t(
            "公证机构和公证员信息", "303003", "open", Q, DB,
            "执业证号:license_no:C20:k @name 公证机构:notary_office:C200 执业区域:area:C100 "
            "执业状态:status:C8",
        ),
        t(
            "社区矫正对象信息", "303003", "secret", D, DB,
            "@id_no:k @name @gender @birth 矫正类别:kind:C16 罪名:offence:C100 矫正期限:term:C32 "
            "起始日期:start_on:D 执行地:executed_in:C100",
        ),
        t(
            "法律援助案件信息", "303003", "personal", M, DB,
            "案件编号:case_no:C24:k @id_no=受援人公民身份号码 @name=受援人姓名 案件类别:kind:C16 "
            "援助事项:matter:C500 承办机构:handler:C200 指派日期:assigned_on:D "
            "结案日期:closed_on:D",
        ),
        t(
            "人民调解组织信息", "210002", "open", Y, XLS,
            "调解委员会名称:committee:C200:k @region 类型:kind:C32 调解员人数:mediators:N "
            "联系电话:office_phone:C20",
        ),
        t(
            "司法鉴定机构和鉴定人信息", "303003", "open", Q, DB,
            "许可证号:license_no:C20:k 机构名称:org_name:C200 @uscc 鉴定业务范围:scope:C500 "
            "鉴定人数:experts:N 有效期至:valid_until:D",
        ),
    ),
    "hrss": (
        t(
            "社会保险参保缴费信息", "203001", "personal", M, DB,
            "@id_no:k @name @gender 险种:insurance:C32 @uscc=参保单位统一社会信用代码 "
            "参保单位名称:employer:C200 费款所属期:period:C7 缴费基数（元）:base:M12 "
            "单位缴费（元）:unit_amount:M12 个人缴费（元）:personal_amount:M12 缴费状态:status:C8",
            "企业职工、机关事业单位和城乡居民养老保险以及失业、工伤保险参保缴费汇总。",
            ("社保", "社保缴费", "参保证明"),
        ),
        t(
            "失业保险待遇发放信息", "20300103", "personal", M, DB,
            "@id_no:k @name 失业登记日期:registered_on:D 领取期限（月）:months:N "
            "月发放标准（元）:monthly:M10 发放年月:period:C7 发放金额（元）:amount:M10",
        ),
        t(
            "工伤认定信息", "20300104", "personal", D, DB,
            "认定书编号:decision_no:C32:k @id_no @name @uscc=用人单位统一社会信用代码 "
            "用人单位:employer:C200 事故时间:occurred_at:T 受伤部位:injury:C200:s "
            "认定结论:conclusion:C16 认定日期:decided_on:D",
        ),
        t(
            "就业登记信息", "203007", "personal", D, DB,
            "@id_no:k @name @gender @edu @uscc=用工单位统一社会信用代码 用工单位:employer:C200 "
            "就业形式:kind:C16 登记日期:registered_on:D @region=就业地行政区划代码",
        ),
        t(
            "失业登记信息", "203007", "personal", D, DB,
            "@id_no:k @name @gender @birth @edu 失业原因:reason:C32 登记日期:registered_on:D "
            "就业困难人员:hard_to_employ:B @phone",
        ),
        t(
            "职业技能等级证书信息", "303002", "cond", M, DB,
            "证书编号:certificate_no:C22:k @id_no @name 职业（工种）:occupation:C64 "
            "等级:level:C8 评价机构:evaluator:C200 发证日期:issued_on:D",
        ),
        t(
            "人力资源服务许可信息", "104002", "open", M, DB,
            "许可证编号:license_no:C32:k 机构名称:org_name:C200 @uscc @legal 服务范围:scope:C500 "
            "发证日期:issued_on:D 有效期至:valid_until:D",
        ),
        t(
            "社会保障卡信息", "105006", "personal", D, DB,
            "社会保障卡号:card_no:C20:k @id_no @name 发卡日期:issued_on:D 卡状态:status:C8 "
            "金融账户开户银行:bank:C64 有效期至:valid_until:D",
        ),
        t(
            "劳动保障监察案件信息", "303002", "cond", D, DB,
            "案件编号:case_no:C24:k @uscc=用人单位统一社会信用代码 用人单位:employer:C200 "
            "案由:cause:C200 涉及人数:workers:N 涉及金额（元）:amount:M12 立案日期:opened_on:D "
            "结案日期:closed_on:D",
        ),
        t(
            "专业技术人员职称信息", "303002", "cond", Y, DB,
            "@id_no:k @name @gender 工作单位:employer:C200 专业:field:C64 职称名称:title:C64 "
            "职称级别:level:C8 取得日期:obtained_on:D",
        ),
    ),
    "health": (
        t(
            "出生医学证明信息", "105008", "personal", D, DB,
            "出生医学证明编号:birth_cert_no:C12:k 新生儿姓名:baby_name:C50 @gender=新生儿性别 "
            "出生时间:born_at:T 出生地点:birthplace:C200 出生体重（克）:weight:N "
            "母亲姓名:mother_name:C50 @id_no=母亲公民身份号码 父亲姓名:father_name:C50 "
            "签发机构:issuer:C100 签发日期:issued_on:D",
            "医疗机构签发的出生医学证明信息，用于出生登记、户口登记和“出生一件事”联办。",
            ("出生证", "出生一件事"),
        ),
        t(
            "医疗机构执业许可信息", "202002", "open", D, DB,
            "登记号:registration_no:C32:k 机构名称:org_name:C200 @uscc 类别:kind:C32 "
            "经营性质:nature:C16 地址:location:C200 床位数:beds:N 诊疗科目:departments:C1000 "
            "@valid_until",
        ),
        t(
            "医师执业注册信息", "309002", "cond", M, DB,
            "执业证书编码:certificate_no:C20:k @name @gender 执业类别:kind:C16 "
            "执业范围:scope:C100 主要执业机构:institution:C200 注册日期:registered_on:D",
        ),
        t(
            "护士执业注册信息", "309002", "cond", M, DB,
            "证书编号:certificate_no:C20:k @name @gender 执业地点:institution:C200 "
            "注册日期:registered_on:D @valid_until",
        ),
        t(
            "预防接种信息", "202005", "personal", D, DB,
            "接种记录编号:record_no:C32:k @id_no=受种者公民身份号码 @name=受种者姓名 @birth "
            "疫苗名称:vaccine:C64 剂次:dose:N 疫苗批号:lot_no:C32 接种日期:vaccinated_on:D "
            "接种单位:clinic:C200",
        ),
        t(
            "居民死亡医学证明信息", "101004", "personal", D, DB,
            "证明编号:certificate_no:C20:k @id_no @name @gender @birth @death "
            "死亡地点:place:C100 根本死因:cause:C100:s 签发机构:issuer:C200",
        ),
        t(
            "居民电子健康档案信息", "202001", "core", D, DB,
            "健康档案编号:record_no:C17:k @id_no @name @gender @birth 血型:blood_type:C4:s "
            "既往病史:history:C2000:s 过敏史:allergies:C500:s 签约家庭医生:doctor:C50 "
            "建档机构:clinic:C200 建档日期:created_on:D",
        ),
        t(
            "法定传染病报告信息", "202006", "secret", R, DB,
            "报告卡编号:report_no:C24:k @id_no @name @gender @birth 疾病名称:disease:C64:s "
            "发病日期:onset_on:D 诊断日期:diagnosed_on:D 报告单位:reporter:C200",
        ),
        t(
            "公共场所卫生许可信息", "104002", "open", M, DB,
            "@license_no=卫生许可证号:k 单位名称:org_name:C200 @uscc 场所地址:location:C200 "
            "许可项目:items:C200 @valid_until",
        ),
    ),
    "veterans": (
        t(
            "退役军人基本信息", "303004", "personal", M, DB,
            "@id_no:k @name @gender @birth @ethnicity 入伍时间:enlisted_on:D "
            "退役时间:discharged_on:D 退役方式:mode:C16 安置地:placement:C100 @phone",
        ),
        t(
            "优抚对象抚恤补助信息", "303004", "personal", M, DB,
            "@id_no:k @name 优抚对象类别:kind:C32 伤残等级:disability_level:C8:s "
            "抚恤补助标准（元/月）:amount:M10 发放年月:period:C7",
        ),
        t(
            "退役军人服务站信息", "303004", "open", Y, XLS,
            "服务站名称:station:C100:k @region 层级:level:C8 地址:location:C200 "
            "服务电话:office_phone:C20",
        ),
        t(
            "烈士纪念设施信息", "303004", "open", Y, DB,
            "设施名称:memorial:C100:k 保护级别:level:C16 @region 地址:location:C200 "
            "安葬烈士数:martyrs:N",
        ),
    ),
    "medins": (
        t(
            "定点医药机构信息", "202002", "open", M, DB,
            "@med_code:k 机构名称:org_name:C200 @uscc 机构类型:kind:C16 医院等级:level:C8 "
            "@region 地址:location:C200 协议开始日期:agreement_from:D "
            "异地就医直接结算:cross_region:B",
            "基本医疗保险定点医疗机构和定点零售药店名单。",
            ("定点医院", "定点药店"),
        ),
        t(
            "医保药品目录信息", "309004", "open", Y, XLS,
            "医保药品编码:drug_code:C20:k 药品名称:drug:C100 剂型:dosage_form:C32 "
            "甲乙类:category:C4 支付标准（元）:price:M10 备注:note:C500",
        ),
        t(
            "门诊慢特病待遇认定信息", "202003", "personal", M, DB,
            "@id_no:k @name 病种名称:disease:C64:s 认定医疗机构:institution:C200 "
            "认定日期:approved_on:D @valid_until",
        ),
        t(
            "医疗救助对象信息", "202003", "personal", M, DB,
            "@id_no:k @name @region 救助对象类别:kind:C32 资助参保金额（元）:premium:M10 "
            "年度救助限额（元）:limit:M10 认定日期:approved_on:D",
        ),
        t(
            "异地就医备案信息", "202003", "personal", D, DB,
            "备案编号:filing_no:C24:k @id_no @name @insurance 备案类型:kind:C16 "
            "就医地:destination:C100 开始日期:start_on:D 结束日期:end_on:D",
        ),
    ),
    "govservice": (
        t(
            "政务服务事项清单", "201001", "open", IR, DB,
            "事项编码:item_code:C32:k 事项名称:item:C200 事项类型:kind:C16 "
            "实施主体:department:C200 法定办结时限（工作日）:legal_days:N "
            "承诺办结时限（工作日）:promised_days:N 是否收费:charged:B 办理地点:location:C200",
            "全省依申请政务服务事项及公共服务事项的实施清单。",
            ("办事指南", "政务服务"),
        ),
        t(
            "政务服务办件信息", "201002", "cond", R, DB,
            "办件编号:case_no:C32:k 事项编码:item_code:C32 事项名称:item:C200 "
            "申请人:applicant:C200 @id_no=申请人证件号码 受理时间:accepted_at:T "
            "办结时间:closed_at:T 办理结果:result:C16 办理部门:department:C200",
        ),
        t(
            "政务服务好差评信息", "201003", "public", D, DB,
            "评价编号:rating_no:C32:k 办件编号:case_no:C32 评价渠道:channel:C16 "
            "评价等级:rating:N 评价内容:comment:C1000 评价时间:rated_at:T "
            "整改情况:rectification:C500",
        ),
        t(
            "12345政务服务便民热线工单信息", "201002", "personal", R, DB,
            "工单编号:ticket_no:C24:k @name=来电人姓名 @phone=来电号码 诉求类型:kind:C16 "
            "诉求内容:content:C4000 承办单位:handler:C200 受理时间:received_at:T "
            "办结时间:closed_at:T 满意度:satisfaction:C8",
            "12345热线受理的咨询、求助、投诉、举报和建议工单。",
            ("12345", "热线", "诉求"),
        ),
        t(
            "电子证照目录信息", "201001", "inner", D, DB,
            "证照类型代码:license_type:C32:k 证照名称:license:C100 颁发部门:issuer:C200 "
            "持证主体类型:holder_kind:C16 已归集数量:count:N 更新时间:updated_at:T",
        ),
    ),
}
# fmt: on
