"""How the demo catalogue's resource templates are written, and the prefecture bureaus' ones.

The provincial departments' templates are in ``catalog_society``,
``catalog_economy`` and ``catalog_resources``. A template is compact on purpose —
a few hundred of them would otherwise fill thousands of lines. Items are written
as whitespace-separated specs:

* ``@concept`` takes a shared field (``FIELDS``) that references a data element,
  ``@concept=中文名`` renames it for this resource (申请人公民身份号码, ...);
* ``中文名:name_en:TYPE[:flags]`` is a field of its own. TYPE is ``C<n>`` (string of
  at most n), ``N`` (integer), ``M<p>`` (decimal of p digits), ``D`` (date),
  ``T`` (date and time) or ``B`` (boolean); flags are ``k`` (key) and ``s``
  (personal or otherwise sensitive: grade 3, shared only on conditions).

A profile sets an entry's share type, open type and grade the way the
departments usually judge that kind of data (DESIGN.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass

from govdata.catalog.vocab import OpenType, ResourceFormat, ShareType, UpdateCycle


@dataclass(frozen=True)
class Profile:
    share: ShareType
    open: OpenType
    grade: int


PROFILES: dict[str, Profile] = {
    # Registers the law says to publish: licences, lists, public notices.
    "open": Profile(ShareType.UNCONDITIONAL, OpenType.OPEN, 1),
    # Shared freely among departments; the public may apply for it.
    "public": Profile(ShareType.UNCONDITIONAL, OpenType.CONDITIONAL, 1),
    # Working data of the administration, shared freely, never opened.
    "inner": Profile(ShareType.UNCONDITIONAL, OpenType.CLOSED, 2),
    # Shared for a stated purpose, not opened.
    "cond": Profile(ShareType.CONDITIONAL, OpenType.CLOSED, 2),
    # Personal information of many people: important data.
    "personal": Profile(ShareType.CONDITIONAL, OpenType.CLOSED, 3),
    # A law forbids handing it on.
    "secret": Profile(ShareType.NONE, OpenType.CLOSED, 3),
    # Core data: critical infrastructure and state reserves.
    "core": Profile(ShareType.CONDITIONAL, OpenType.CLOSED, 4),
}

SHARE_CONDITIONS = (
    "仅限政务部门依法履行职责使用，经提供部门审核同意后通过共享平台接口核验或查询，不得转授他人。",
    "需求部门须说明使用事由和法律依据，按最小必要原则提供所需信息项，使用情况接受审计。",
    "限于办理本部门政务服务事项时核验使用，单次按个人或单位查询，不提供批量下载。",
    "经提供部门审核后按月以库表方式提供，需求部门须落实数据安全保护措施。",
)
OPEN_CONDITION = "经申请并签订数据使用协议后，按约定范围和用途开放。"

# Legal basis of refusals, by resource name keyword; the default applies to everything else.
NOT_SHARED_BASIS = {
    "统计": "《中华人民共和国统计法》第二十五条：统计调查中获得的能够识别或者推断单个统计调查"
    "对象身份的资料，任何单位和个人不得对外提供、泄露，不得用于统计以外的目的。",
    "矫正": "《中华人民共和国社区矫正法》第二十三条、第五十四条：社区矫正对象的身份信息和"
    "个人隐私应当保密。",
    "传染病": "《中华人民共和国传染病防治法》第十二条：疾病预防控制机构、医疗机构不得泄露"
    "涉及个人隐私的有关信息、资料。",
    "宗教": "《宗教事务条例》及省保密工作有关规定，涉及宗教教职人员的个人信息不予共享。",
}
DEFAULT_BASIS = "《中华人民共和国保守国家秘密法》及本部门定密决定，该资源涉及工作秘密，不予共享。"


@dataclass(frozen=True)
class Shared:
    """A field many resources carry, with the data element it follows."""

    name: str
    name_en: str
    spec: str
    element: str | None
    sensitive: bool = False


# Shared fields; ``element`` is the identifier of a seeded data element (data_elements.json).
FIELDS: dict[str, Shared] = {
    "id_no": Shared("公民身份号码", "resident_id", "C18", "DE00001", sensitive=True),
    "name": Shared("姓名", "name", "C50", "DE00002"),
    "gender": Shared("性别", "gender", "C1", "DE00003"),
    "birth": Shared("出生日期", "birth_date", "D", "DE00004"),
    "ethnicity": Shared("民族", "ethnicity", "C2", "DE00005"),
    "marital": Shared("婚姻状况", "marital_status", "C2", "DE00006"),
    "edu": Shared("学历", "education", "C2", "DE00007"),
    "household_no": Shared("户号", "household_no", "C20", "DE00012"),
    "death": Shared("死亡日期", "death_date", "D", "DE00017"),
    "region": Shared("行政区划代码", "division_code", "C6", "DE00018"),
    "addr": Shared("住址", "address", "C200", "DE00019", sensitive=True),
    "phone": Shared("联系电话", "phone", "C20", "DE00021", sensitive=True),
    "registered": Shared("登记日期", "registered_on", "D", "DE00023"),
    "updated": Shared("数据更新时间", "updated_at", "T", "DE00025"),
    "uscc": Shared("统一社会信用代码", "credit_code", "C18", "DE00026"),
    "entity": Shared("市场主体名称", "entity_name", "C200", "DE00027"),
    "entity_type": Shared("市场主体类型", "entity_type", "C32", "DE00028"),
    "legal": Shared("法定代表人", "legal_rep_name", "C50", "DE00029"),
    "capital": Shared("注册资本（万元）", "registered_capital", "M16", "DE00030"),
    "industry": Shared("行业门类代码", "industry_code", "C1", "DE00031"),
    "reg_status": Shared("登记状态", "registration_status", "C8", "DE00033"),
    "established": Shared("成立日期", "established_on", "D", "DE00034"),
    "authority": Shared("登记机关", "registration_authority", "C100", "DE00035"),
    "scope": Shared("经营范围", "business_scope", "C4000", "DE00036"),
    "org": Shared("单位名称", "org_name", "C200", "DE00038"),
    "insurance": Shared("险种类型", "insurance_type", "C32", "DE00040"),
    "ins_status": Shared("参保状态", "insurance_status", "C16", "DE00041"),
    "period": Shared("缴费年月", "period", "C7", "DE00044"),
    "card_no": Shared("社会保障卡号", "card_no", "C20", "DE00049", sensitive=True),
    "approved": Shared("审批日期", "approved_on", "D", "DE00057"),
    "med_code": Shared("医疗机构代码", "institution_code", "C22", "DE00060"),
    "diagnosis": Shared("诊断名称", "diagnosis", "C64", "DE00064", sensitive=True),
    "license_no": Shared("许可证编号", "license_no", "C64", "DE00073"),
    "valid_until": Shared("有效期至", "valid_until", "D", "DE00074"),
    "penalty_no": Shared("行政处罚决定书文号", "decision_no", "C128", "DE00075"),
    "penalty_date": Shared("处罚决定日期", "decided_on", "D", "DE00076"),
    "penalty_amount": Shared("罚没金额（元）", "penalty_amount", "M16", "DE00077"),
    "lng": Shared("经度", "longitude", "M10", "DE00078"),
    "lat": Shared("纬度", "latitude", "M9", "DE00079"),
    "remarks": Shared("备注", "remarks", "C500", "DE00080"),
}


@dataclass(frozen=True)
class Template:
    name: str
    # Code of a 目 (or 细目) of the seeded classification tree.
    cls: str
    profile: str
    cycle: UpdateCycle
    fmt: ResourceFormat
    items: str
    summary: str = ""
    keywords: tuple[str, ...] = ()


def t(
    name: str,
    cls: str,
    profile: str,
    cycle: str,
    fmt: str,
    items: str,
    summary: str = "",
    keywords: tuple[str, ...] = (),
) -> Template:
    return Template(
        name, cls, profile, UpdateCycle(cycle), ResourceFormat(fmt), items, summary, keywords
    )


D, M, Q, Y, R, IR = "daily", "monthly", "quarterly", "yearly", "realtime", "irregular"
W, H = "weekly", "half_yearly"
DB, API, XLS, DOC, IMG = "database", "api", "spreadsheet", "document", "image"

# Prefecture bureaus' local resources, by department-code suffix; names get the prefecture's
# name in front (西宁市流动人口居住登记信息). Each bureau catalogues one or two of them.
# fmt: off
LOCAL: dict[str, tuple[Template, ...]] = {
    "gov_office": (
        t(
            "政府常务会议纪要信息", "301001", "inner", IR, DOC,
            "纪要编号:minutes_no:C32:k 会议日期:meeting_on:D 主持人:chair:C50 议题:topics:C2000 "
            "议定事项:decisions:C4000",
        ),
        t(
            "政府信息主动公开信息", "301003", "open", D, DOC,
            "索引号:index_no:C32:k 标题:title:C200 发布机构:publisher:C100 主题分类:topic:C32 "
            "发布日期:published_on:D 全文链接:url:C500",
        ),
        t(
            "重点民生实事项目推进信息", "301001", "public", M, XLS,
            "项目名称:project_name:C200:k 责任单位:responsible:C200 年度目标:target:C500 "
            "完成进度（%）:progress:M6 统计期:period:C7",
        ),
    ),
    "police": (
        t(
            "流动人口居住登记信息", "101006", "personal", D, DB,
            "@id_no:k @name @gender @birth @addr=居住地址 居住事由:reason:C16 "
            "登记日期:registered_on:D @phone",
        ),
        t(
            "旅馆业住宿登记信息", "304002", "personal", R, DB,
            "入住流水号:serial_no:C32:k @id_no @name 旅馆名称:hotel:C100 房间号:room:C8 "
            "入住时间:check_in_at:T 退房时间:check_out_at:T",
        ),
        t(
            "治安保卫重点单位信息", "304002", "cond", Q, DB,
            "@uscc:k 单位名称:org_name:C200 单位类别:kind:C32 @region 地址:location:C200 "
            "保卫负责人:guard_chief:C50 @phone",
        ),
    ),
    "civil": (
        t(
            "城乡最低生活保障对象信息", "203002", "personal", M, DB,
            "@id_no:k @name @region 保障类别:category:C8 保障人口数:family_size:N "
            "月保障金额（元）:amount:M12 @approved 保障状态:status:C8",
        ),
        t(
            "养老服务设施信息", "201004", "open", Q, DB,
            "设施名称:facility:C100:k 设施类型:kind:C32 @region 地址:location:C200 床位数:beds:N "
            "运营方:operator:C200 服务电话:office_phone:C20",
        ),
        t(
            "特困供养人员信息", "203003", "personal", M, DB,
            "@id_no:k @name @gender @birth 供养方式:care_mode:C8 供养机构:institution:C100 "
            "认定日期:approved_on:D",
        ),
    ),
    "hrss": (
        t(
            "就业困难人员认定信息", "203007", "personal", M, DB,
            "@id_no:k @name @gender @edu 困难类别:kind:C32 认定日期:approved_on:D "
            "援助措施:assistance:C200 @phone",
        ),
        t(
            "城乡居民养老保险待遇发放信息", "20300102", "personal", M, DB,
            "@id_no:k @name @region 待遇类型:kind:C16 月养老金（元）:monthly:M12 "
            "发放年月:period:C7 发放状态:status:C8",
        ),
        t(
            "公益性岗位人员信息", "203007", "personal", Q, DB,
            "@id_no:k @name 岗位名称:post:C64 用人单位:employer:C200 上岗日期:started_on:D "
            "岗位补贴（元/月）:subsidy:M10",
        ),
    ),
    "market": (
        t(
            "个体工商户登记信息", "102002", "open", D, DB,
            "@uscc:k @entity 经营者姓名:operator:C50 组成形式:form:C8 经营场所:location:C200 "
            "@scope @established @reg_status",
        ),
        t(
            "食品生产经营日常监督检查结果", "204002", "open", W, DB,
            "检查编号:inspection_no:C32:k 被检查单位:org_name:C200 @uscc 检查日期:inspected_on:D "
            "检查结果:result:C16 问题描述:issues:C1000",
        ),
        t(
            "食品小作坊登记信息", "204001", "open", M, DB,
            "登记证编号:registration_no:C32:k 小作坊名称:org_name:C200 经营者:operator:C50 "
            "生产地址:location:C200 生产品种:products:C200 @valid_until",
        ),
    ),
    "health": (
        t(
            "包虫病筛查和救治信息", "202006", "personal", M, DB,
            "筛查编号:screening_no:C24:k @id_no @name @gender @birth @region "
            "筛查日期:screened_on:D 筛查结果:result:C16:s 救治方式:treatment:C32:s",
            "包虫病流行县人群B超筛查、确诊和免费救治信息。",
            ("包虫病", "棘球蚴病"),
        ),
        t(
            "家庭医生签约服务信息", "202001", "personal", M, DB,
            "签约编号:contract_no:C24:k @id_no @name 签约团队:team:C100 签约机构:clinic:C200 "
            "人群类型:group:C32 签约日期:signed_on:D",
        ),
        t(
            "基层医疗卫生机构信息", "202002", "open", Y, DB,
            "@med_code:k 机构名称:org_name:C200 机构类别:kind:C32 @region 地址:location:C200 "
            "床位数:beds:N 卫生技术人员数:staff:N",
        ),
    ),
    "medins": (
        t(
            "城乡居民医保参保缴费信息", "202003", "personal", M, DB,
            "@id_no:k @name @insurance 缴费年度:year:N 个人缴费（元）:personal_amount:M10 "
            "资助类别:subsidy_kind:C32 @ins_status",
        ),
        t(
            "医保基金支付汇总信息", "202004", "cond", M, XLS,
            "定点医药机构:institution:C200:k 统计期:period:C7 结算人次:visits:N "
            "医疗总费用（元）:total_cost:M16 基金支付（元）:fund_paid:M16",
        ),
    ),
    "natres": (
        t(
            "农村宅基地和集体建设用地确权登记信息", "103003", "personal", Y, DB,
            "不动产单元号:unit_no:C28:k 权利人:owner:C100 @id_no=权利人证件号码 "
            "坐落:location:C200 宗地面积（平方米）:area:M12 登记日期:registered_on:D",
        ),
        t(
            "国有建设用地供应信息", "103002", "open", M, DB,
            "电子监管号:supervision_no:C32:k 项目名称:project_name:C200 @region "
            "供地方式:method:C16 面积（公顷）:area:M12 土地用途:usage:C32 "
            "成交价（万元）:price:M16 合同签订日期:signed_on:D",
        ),
    ),
    "eco": (
        t(
            "集中式饮用水水源地保护区信息", "211004", "cond", Y, IMG,
            "水源地名称:source:C100:k 水源类型:kind:C16 @region 保护区级别:level:C16 "
            "面积（平方公里）:area:M10 服务人口（万人）:population:M10",
        ),
        t(
            "生态环境信访投诉信息", "305002", "personal", D, DB,
            "投诉编号:complaint_no:C24:k @name=投诉人姓名 @phone=投诉人联系电话 "
            "投诉对象:respondent:C200 污染类型:kind:C16 投诉内容:content:C2000 "
            "受理日期:received_on:D 办理结果:result:C500",
        ),
    ),
    "emergency": (
        t(
            "应急避难场所信息", "212001", "open", Y, DB,
            "场所名称:shelter:C100:k 场所类型:kind:C32 @region 地址:location:C200 @lng @lat "
            "可容纳人数:capacity:N 有效面积（平方米）:area:M10",
        ),
        t(
            "安全生产执法检查信息", "205004", "open", W, DB,
            "检查编号:inspection_no:C32:k 被检查单位:org_name:C200 @uscc 检查日期:inspected_on:D "
            "发现隐患数:hazards:N 整改状态:status:C8",
        ),
    ),
    "edu": (
        t(
            "义务教育招生入学信息", "213001", "personal", Y, DB,
            "报名号:application_no:C24:k @id_no=学生公民身份号码 @name=学生姓名 @gender "
            "录取学校:school:C100 入学年度:year:N 户籍地址:registered_address:C200:s "
            "监护人姓名:guardian:C50",
        ),
        t(
            "农村义务教育学生营养改善计划受益学生信息", "309001", "personal", H, DB,
            "@id_no:k @name 学校名称:school:C100 年级:grade:C8 补助标准（元/天）:daily:M6 "
            "受益学年:school_year:C9",
        ),
        t(
            "中小学校基本信息", "213002", "open", Y, DB,
            "学校标识码:school_code:C10:k 学校名称:school:C100 办学类型:kind:C32 @region "
            "地址:location:C200 在校生数:students:N 寄宿生数:boarders:N",
        ),
    ),
}
# fmt: on
