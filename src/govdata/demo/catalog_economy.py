"""What the provincial departments of the economy, finance and energy catalogue."""

from __future__ import annotations

from govdata.demo.catalog_data import DB, DOC, IMG, IR, XLS, D, H, M, Q, R, Template, W, Y, t

# fmt: off
ECONOMY: dict[str, tuple[Template, ...]] = {
    "ndrc": (
        t(
            "政府投资项目审批信息", "302001", "open", D, DB,
            "项目代码:project_code:C24:k 项目名称:project_name:C200 @org=项目单位 "
            "@uscc=项目单位统一社会信用代码 建设地点:site:C200 "
            "总投资（万元）:total_investment:M16 审批文号:approval_no:C64 审批日期:approved_on:D "
            "审批结果:result:C16",
            "全省政府投资项目的可行性研究报告、初步设计审批结果，来源于投资项目在线审批监管平台。",
            ("投资项目", "在线审批"),
        ),
        t(
            "企业投资项目核准和备案信息", "302001", "open", D, DB,
            "项目代码:project_code:C24:k 项目名称:project_name:C200 @org=项目单位 @uscc "
            "建设规模及内容:scope:C2000 总投资（万元）:total_investment:M16 办理类型:kind:C8 "
            "办理日期:handled_on:D 办理机关:authority:C100",
        ),
        t(
            "省级重点建设项目信息", "302001", "public", M, XLS,
            "项目名称:project_name:C200:k 建设单位:builder:C200 @region=建设地点行政区划代码 "
            "年度计划投资（万元）:planned:M16 累计完成投资（万元）:completed:M16 "
            "开工日期:started_on:D 形象进度:progress:C500",
        ),
        t(
            "重要商品和服务价格监测信息", "206001", "open", W, XLS,
            "监测品种:item:C64:k 规格等级:spec:C64 计价单位:unit:C16 监测点:site:C100 "
            "采价日期:sampled_on:D 价格（元）:price:M10 环比涨跌（%）:mom:M6",
            "西宁等市州粮油、肉禽蛋、蔬菜、牛羊肉等重要民生商品及服务价格周监测数据。",
            ("物价", "牛羊肉价格"),
        ),
        t(
            "省级储备粮油库存信息", "212002", "core", M, DB,
            "库点名称:depot:C100:k @region=库点行政区划代码 品种:grain:C16 性质:kind:C16 "
            "库存数量（吨）:stock:M14 入库年份:stored_year:N 储存仓型:warehouse:C32",
        ),
        t(
            "社会信用体系建设示范创建信息", "208001", "open", Y, DOC,
            "创建单位:unit:C100:k 创建类型:kind:C32 批准文号:approval_no:C64 "
            "批准日期:approved_on:D",
        ),
    ),
    "sci": (
        t(
            "高新技术企业认定信息", "102001", "open", Y, DB,
            "证书编号:certificate_no:C20:k 企业名称:org_name:C200 @uscc 技术领域:field:C64 "
            "认定批次:batch:C32 发证日期:issued_on:D 有效期至:valid_until:D",
        ),
        t(
            "科技成果登记信息", "306003", "open", M, DB,
            "登记号:registration_no:C24:k 成果名称:title:C200 完成单位:unit:C200 "
            "成果类别:kind:C16 应用行业:industry:C64 登记日期:registered_on:D",
        ),
        t(
            "省级科技计划项目信息", "302001", "public", Q, DB,
            "项目编号:project_no:C24:k 项目名称:project_name:C200 承担单位:unit:C200 "
            "@uscc=承担单位统一社会信用代码 项目负责人:leader:C50 计划类别:program:C64 "
            "立项经费（万元）:funding:M12 起止年限:period:C16",
        ),
        t(
            "科技特派员信息", "308001", "cond", H, DB,
            "@name @gender 工作单位:employer:C200 专业领域:field:C64 服务地区:served_area:C100 "
            "派驻年度:year:N:k @phone",
        ),
    ),
    "industry": (
        t(
            "规模以上工业企业运行监测信息", "302003", "inner", M, DB,
            "@uscc:k 企业名称:org_name:C200 @industry 工业总产值（万元）:output:M16 "
            "营业收入（万元）:revenue:M16 用电量（万千瓦时）:power:M14 统计期:period:C7",
        ),
        t(
            "工业园区基本信息", "302001", "open", Y, DB,
            "园区名称:park:C100:k 园区级别:level:C16 @region=所在地行政区划代码 "
            "规划面积（平方公里）:area:M10 主导产业:leading_industries:C200 "
            "入驻企业数:companies:N",
        ),
        t(
            "专精特新中小企业名单", "102001", "open", Y, XLS,
            "企业名称:org_name:C200:k @uscc @region=所在地行政区划代码 主营产品:products:C200 "
            "认定年度:year:N",
        ),
        t(
            "重点用能工业企业能耗信息", "302003", "cond", M, DB,
            "@uscc:k 企业名称:org_name:C200 综合能耗（吨标准煤）:energy:M14 "
            "单位产值能耗:intensity:M10 统计期:period:C7",
        ),
        t(
            "无线电台（站）执照信息", "104002", "cond", IR, DB,
            "执照编号:license_no:C32:k 设台单位:org_name:C200 台站类别:kind:C32 "
            "使用频率（MHz）:frequency:M12 台址:site:C200 有效期至:valid_until:D",
        ),
    ),
    "finance": (
        t(
            "财政预决算公开信息", "302002", "open", Y, DOC,
            "单位名称:unit:C200:k 公开类型:kind:C8 年度:year:N 收入合计（万元）:income:M16 "
            "支出合计（万元）:expenditure:M16 三公经费（万元）:official_spending:M12 "
            "公开日期:published_on:D",
        ),
        t(
            "政府采购项目信息", "302002", "open", D, DB,
            "项目编号:project_no:C32:k 项目名称:project_name:C200 采购人:purchaser:C200 "
            "采购方式:method:C16 预算金额（万元）:budget:M14 中标供应商:supplier:C200 "
            "@uscc=中标供应商统一社会信用代码 中标金额（万元）:amount:M14 公告日期:announced_on:D",
        ),
        t(
            "行政事业单位国有资产信息", "302002", "inner", Y, DB,
            "@uscc:k 单位名称:unit:C200 资产总额（万元）:assets:M16 "
            "固定资产（万元）:fixed_assets:M16 房屋面积（平方米）:floor_area:M14 "
            "车辆数:vehicles:N 统计年度:year:N",
        ),
        t(
            "惠民惠农财政补贴资金发放信息", "302002", "personal", M, DB,
            "发放批次:batch_no:C24:k @id_no @name @region 补贴项目:program:C64 "
            "补贴金额（元）:amount:M10 社会保障卡号:card_no:C20:s 发放日期:paid_on:D "
            "主管部门:department:C100",
            "通过“一卡通”发放的各类惠民惠农补贴资金明细。",
            ("一卡通", "补贴"),
        ),
        t(
            "政府债务信息", "302002", "cond", Q, XLS,
            "债券名称:bond:C100:k 债券类型:kind:C16 发行日期:issued_on:D 期限（年）:term:N "
            "发行规模（亿元）:amount:M12 票面利率（%）:rate:M6 资金用途:purpose:C500",
        ),
    ),
    "commerce": (
        t(
            "对外贸易经营者备案信息", "102001", "open", D, DB,
            "备案登记表编号:filing_no:C20:k 经营者名称:org_name:C200 @uscc 经营者类型:kind:C32 "
            "住所:location:C200 备案日期:filed_on:D",
        ),
        t(
            "外商投资企业信息", "102006", "open", M, DB,
            "@uscc:k 企业名称:org_name:C200 投资方国别（地区）:investor_country:C64 "
            "投资总额（万美元）:investment:M14 行业:industry:C64 设立日期:established_on:D",
        ),
        t(
            "单用途商业预付卡备案信息", "306002", "open", Q, DB,
            "备案编号:filing_no:C24:k 发卡企业:org_name:C200 @uscc 发卡类型:kind:C16 "
            "预收资金余额（万元）:balance:M14 备案日期:filed_on:D",
        ),
        t(
            "重要生活必需品市场监测信息", "206001", "open", D, XLS,
            "商品名称:commodity:C64:k 监测企业:retailer:C200 @region 日期:measured_on:D "
            "零售价格（元）:price:M10 库存量（吨）:stock:M12",
        ),
        t(
            "拍卖企业许可信息", "104002", "open", Q, DB,
            "@license_no=拍卖经营批准证书编号:k 企业名称:org_name:C200 @uscc "
            "注册资本（万元）:capital:M14 @valid_until",
        ),
    ),
    "audit": (
        t(
            "审计项目计划信息", "302002", "inner", Y, XLS,
            "项目编号:project_no:C24:k 审计项目名称:project_name:C200 被审计单位:auditee:C200 "
            "审计类型:kind:C32 计划实施时间:planned:C16 审计组长:leader:C50",
        ),
        t(
            "审计发现问题整改信息", "302002", "cond", Q, DB,
            "问题编号:issue_no:C24:k 被审计单位:auditee:C200 问题类型:kind:C64 "
            "问题描述:issue:C2000 涉及金额（万元）:amount:M14 整改状态:status:C8 "
            "整改期限:deadline:D",
        ),
    ),
    "sasac": (
        t(
            "省属国有企业基本信息", "102001", "open", Y, DB,
            "@uscc:k 企业名称:org_name:C200 @legal 注册资本（万元）:capital:M16 "
            "主营业务:business:C500 国有股权比例（%）:state_share:M6",
        ),
        t(
            "国有资产产权登记信息", "302002", "cond", Y, DB,
            "产权登记证号:registration_no:C24:k 企业名称:org_name:C200 @uscc "
            "出资人:investor:C200 出资额（万元）:amount:M16 持股比例（%）:share:M6 "
            "登记日期:registered_on:D",
        ),
        t(
            "省属企业经营财务快报信息", "302002", "secret", M, XLS,
            "@uscc:k 企业名称:org_name:C200 营业总收入（万元）:revenue:M16 "
            "利润总额（万元）:profit:M16 资产总额（万元）:assets:M16 "
            "负债总额（万元）:liabilities:M16 统计期:period:C7",
        ),
    ),
    "market": (
        t(
            "营业执照信息", "105004", "open", R, DB,
            "@uscc:k @entity @entity_type @legal @capital @established 营业期限自:term_from:D "
            "营业期限至:term_until:D @scope @authority 核准日期:approved_on:D @reg_status "
            "住所:location:C200",
            "市场主体营业执照电子证照信息，支持亮照核验和证照共享。",
            ("营业执照", "电子营业执照", "企业登记"),
        ),
        t(
            "企业年度报告信息", "306001", "open", Y, DB,
            "@uscc:k @entity 报告年度:year:N 从业人数:employees:N 资产总额（万元）:assets:M16 "
            "营业总收入（万元）:revenue:M16 纳税总额（万元）:tax:M16 网站或网店:website:C200 "
            "公示日期:published_on:D",
        ),
        t(
            "经营异常名录信息", "104001", "open", D, DB,
            "@uscc:k @entity 列入经营异常名录原因:reason:C500 列入日期:listed_on:D "
            "作出决定机关:authority:C100 移出原因:removal_reason:C500 移出日期:removed_on:D",
        ),
        t(
            "严重违法失信主体名单信息", "208002", "open", D, DB,
            "@uscc:k @entity @legal 列入原因:reason:C500 列入日期:listed_on:D "
            "作出决定机关:authority:C100 移出日期:removed_on:D",
        ),
        t(
            "食品经营许可信息", "204001", "open", D, DB,
            "@license_no=食品经营许可证编号:k 经营者名称:org_name:C200 @uscc @legal "
            "经营场所:location:C200 主体业态:business_type:C64 经营项目:items:C1000 "
            "发证日期:issued_on:D @valid_until",
            "食品销售、餐饮服务经营者的许可信息。",
            ("食品经营许可证", "餐饮"),
        ),
        t(
            "食品安全监督抽检信息", "204002", "open", W, XLS,
            "抽检编号:sample_no:C32:k 食品名称:food:C100 标称生产企业:producer:C200 "
            "被抽样单位:sampled_unit:C200 规格型号:spec:C64 生产日期:produced_on:D "
            "检验结果:result:C8 不合格项目:failed_items:C500",
        ),
        t(
            "特种设备使用登记信息", "205004", "cond", D, DB,
            "使用登记证编号:registration_no:C32:k 设备种类:kind:C32 设备代码:device_code:C32 "
            "使用单位:user_org:C200 @uscc=使用单位统一社会信用代码 设备使用地点:site:C200 "
            "下次检验日期:next_inspection:D",
        ),
        t(
            "市场监管行政处罚信息", "104003", "open", D, DB,
            "@penalty_no:k 当事人名称:party:C200 @uscc 违法行为类型:offence:C500 "
            "处罚内容:penalty:C500 @penalty_amount @penalty_date 处罚机关:authority:C100",
        ),
        t(
            "12315投诉举报信息", "306002", "personal", D, DB,
            "投诉编号:complaint_no:C24:k @name=投诉人姓名 @phone=投诉人联系电话 "
            "被投诉主体:respondent:C200 投诉问题:issue:C2000 登记日期:received_on:D "
            "办结日期:closed_on:D 办理结果:result:C500",
        ),
        t(
            "工业产品生产许可证信息", "104002", "open", M, DB,
            "证书编号:certificate_no:C32:k 企业名称:org_name:C200 @uscc 产品名称:product:C200 "
            "住所:location:C200 @valid_until",
        ),
    ),
    "stats": (
        t(
            "国民经济和社会发展统计公报", "302003", "open", Y, DOC,
            "公报名称:title:C200:k 统计年度:year:N 发布日期:published_on:D 全文:content:C4000",
        ),
        t(
            "全省主要经济指标月度数据", "302003", "open", M, XLS,
            "指标名称:indicator:C100:k 统计期:period:C7 @region 本期值:value:M16 "
            "计量单位:unit:C16 同比增长（%）:yoy:M8",
            "地区生产总值、规模以上工业增加值、社会消费品零售总额等主要指标。",
            ("GDP", "经济指标"),
        ),
        t(
            "人口抽样调查汇总数据", "302003", "public", Y, XLS,
            "@region:k 调查年度:year:N 常住人口（人）:population:N "
            "城镇人口比重（%）:urban_share:M6 出生率（‰）:birth_rate:M6 死亡率（‰）:death_rate:M6",
        ),
        t(
            "统计调查对象原始数据", "302003", "secret", Y, DB,
            "调查对象代码:respondent_code:C18:k 调查对象名称:respondent:C200 "
            "调查制度:survey:C100 报告期:period:C7 指标代码:indicator_code:C16 指标值:value:M16",
        ),
        t(
            "基本单位名录库信息", "302003", "cond", Q, DB,
            "@uscc:k 单位详细名称:org_name:C200 单位类型:kind:C16 @industry @region "
            "从业人员数:employees:N 营业状态:status:C8",
        ),
    ),
    "energy": (
        t(
            "电力供应运行信息", "207001", "core", D, DB,
            "统计日期:stat_date:D:k 全社会用电量（万千瓦时）:consumption:M14 "
            "发电量（万千瓦时）:generation:M14 最大负荷（万千瓦）:peak_load:M10 "
            "外送电量（万千瓦时）:exported:M14",
        ),
        t(
            "新能源发电项目信息", "207004", "open", Q, DB,
            "项目名称:project_name:C200:k 项目类型:kind:C16 项目单位:owner:C200 "
            "@uscc=项目单位统一社会信用代码 @region 装机容量（万千瓦）:capacity:M10 "
            "并网日期:connected_on:D",
            "海西、海南州光伏、风电、光热等新能源发电项目的核准备案和并网信息。",
            ("光伏", "风电", "新能源"),
        ),
        t(
            "电动汽车充电设施信息", "207004", "open", M, DB,
            "充电站编号:station_no:C24:k 充电站名称:station:C100 运营商:operator:C200 @region "
            "地址:location:C200 @lng @lat 充电桩数量:piles:N 快充桩数量:fast_piles:N",
        ),
        t(
            "天然气供应保障信息", "207002", "cond", D, XLS,
            "日期:stat_date:D:k 供气企业:supplier:C200 日供气量（万立方米）:supply:M12 "
            "日用气量（万立方米）:demand:M12 储气量（万立方米）:storage:M12",
        ),
        t(
            "油气长输管道信息", "207003", "core", IR, IMG,
            "管道名称:pipeline:C100:k 运营单位:operator:C200 起点:start_point:C100 "
            "终点:end_point:C100 管径（毫米）:diameter:N 设计压力（兆帕）:pressure:M6 "
            "长度（公里）:length_km:M10",
        ),
    ),
}
# fmt: on
