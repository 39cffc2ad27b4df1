"""What the provincial departments of land, environment, building, transport, farming,
culture and emergencies catalogue."""

from __future__ import annotations

from govdata.demo.catalog_data import API, DB, IMG, IR, XLS, D, M, Q, R, Template, Y, t

# fmt: off
RESOURCES: dict[str, tuple[Template, ...]] = {
    "natres": (
        t(
            "不动产登记信息", "103003", "personal", D, DB,
            "不动产单元号:unit_no:C28:k 不动产权证书号:certificate_no:C64 权利人:owner:C200 "
            "@id_no=权利人证件号码 坐落:location:C200 权利类型:right_type:C32 "
            "权利性质:right_nature:C16 用途:usage:C32 面积（平方米）:area:M14 "
            "登记时间:registered_at:T 登记机构:authority:C100",
            "国有建设用地使用权及房屋所有权等不动产登记簿信息，依申请提供查询核验。",
            ("不动产", "房产证", "产权"),
        ),
        t(
            "国土空间规划信息", "103002", "public", IR, IMG,
            "规划名称:plan:C200:k 规划层级:level:C16 @region=规划范围行政区划代码 "
            "规划期限:term:C16 批准文号:approval_no:C64 批准日期:approved_on:D "
            "图层名称:layer:C100",
        ),
        t(
            "建设用地审批信息", "103002", "open", M, DB,
            "批复文号:approval_no:C64:k 项目名称:project_name:C200 @region "
            "用地面积（公顷）:area:M12 其中耕地（公顷）:farmland:M12 批准机关:authority:C100 "
            "批准日期:approved_on:D",
        ),
        t(
            "矿业权登记信息", "103004", "open", M, DB,
            "许可证号:license_no:C32:k 矿山（项目）名称:mine:C200 矿业权人:holder:C200 "
            "@uscc=矿业权人统一社会信用代码 开采矿种:mineral:C64 矿区面积（平方公里）:area:M12 "
            "有效期起:valid_from:D @valid_until",
        ),
        t(
            "国有建设用地使用权出让信息", "103002", "open", D, DB,
            "电子监管号:supervision_no:C32:k 宗地位置:location:C200 @region "
            "面积（公顷）:area:M12 土地用途:usage:C32 出让方式:method:C16 "
            "成交价（万元）:price:M16 受让人:buyer:C200 签订日期:signed_on:D",
        ),
        t(
            "地质灾害隐患点信息", "212003", "cond", Q, DB,
            "隐患点编号:site_no:C20:k 隐患点名称:site:C100 灾害类型:kind:C16 @region @lng @lat "
            "威胁人数:people_at_risk:N 威胁财产（万元）:assets_at_risk:M12 险情等级:level:C8 "
            "监测责任人:monitor:C50",
        ),
        t(
            "基础测绘成果信息", "103001", "core", IR, IMG,
            "成果编号:product_no:C32:k 成果名称:product:C200 比例尺:scale:C16 坐标系:crs:C32 "
            "覆盖范围:coverage:C200 生产日期:produced_on:D 密级:classification:C8",
        ),
        t(
            "永久基本农田信息", "103002", "cond", Y, IMG,
            "图斑编号:parcel_no:C32:k @region 地类:land_class:C16 面积（亩）:area:M12 "
            "质量等别:quality:C8 划定日期:designated_on:D",
        ),
    ),
    "eco": (
        t(
            "排污许可证信息", "211003", "open", D, DB,
            "@license_no=排污许可证编号:k 单位名称:org_name:C200 @uscc @legal "
            "生产经营场所地址:location:C200 行业类别:industry:C64 主要污染物类别:pollutants:C200 "
            "发证日期:issued_on:D @valid_until",
        ),
        t(
            "建设项目环境影响评价审批信息", "305002", "open", D, DB,
            "批复文号:approval_no:C64:k 项目名称:project_name:C200 建设单位:builder:C200 "
            "@uscc=建设单位统一社会信用代码 建设地点:site:C200 环评类别:kind:C16 "
            "批复日期:approved_on:D",
        ),
        t(
            "环境空气质量监测信息", "211001", "open", R, API,
            "站点编码:station_code:C12:k 站点名称:station:C64 @region 监测时间:measured_at:T "
            "PM2.5浓度（μg/m³）:pm25:M8 PM10浓度（μg/m³）:pm10:M8 臭氧浓度（μg/m³）:o3:M8 "
            "空气质量指数:aqi:N 首要污染物:primary_pollutant:C16",
            "全省国控、省控空气自动监测站小时监测数据。",
            ("空气质量", "AQI"),
        ),
        t(
            "重点排污单位自动监控信息", "211002", "public", R, API,
            "@uscc:k 单位名称:org_name:C200 排放口编号:outlet_no:C16 监测时间:measured_at:T "
            "监测因子:factor:C32 排放浓度:concentration:M12 是否超标:exceeded:B",
        ),
        t(
            "生态环境行政处罚信息", "104003", "open", D, DB,
            "@penalty_no:k 当事人名称:party:C200 @uscc 违法行为:offence:C1000 "
            "处罚依据:basis:C500 处罚内容:penalty:C500 @penalty_amount @penalty_date",
        ),
        t(
            "生态保护红线信息", "211004", "cond", IR, IMG,
            "红线区块编号:block_no:C32:k 红线类型:kind:C32 @region 面积（平方公里）:area:M12 "
            "主导生态功能:function:C64 划定日期:designated_on:D",
        ),
        t(
            "三江源国家公园生态监测信息", "211005", "open", M, XLS,
            "监测站点:station:C64:k 监测指标:indicator:C64 监测时间:measured_on:D "
            "监测值:value:M12 单位:unit:C16 所属园区:park_area:C32",
            "三江源国家公园长江源、黄河源、澜沧江源园区的草地、水体和野生动物监测数据。",
            ("三江源", "国家公园", "生态监测"),
        ),
    ),
    "housing": (
        t(
            "住房公积金缴存信息", "309002", "personal", M, DB,
            "个人公积金账号:account_no:C20:k @id_no @name @uscc=缴存单位统一社会信用代码 "
            "缴存单位:employer:C200 缴存基数（元）:base:M10 月缴存额（元）:monthly:M10 "
            "账户余额（元）:balance:M14 账户状态:status:C8 缴至年月:paid_until:C7",
            "住房公积金个人账户缴存、余额和账户状态信息。",
            ("公积金", "住房公积金"),
        ),
        t(
            "住房公积金贷款信息", "209002", "personal", M, DB,
            "借款合同号:contract_no:C32:k @id_no=借款人公民身份号码 @name=借款人姓名 "
            "贷款金额（元）:amount:M14 贷款期限（月）:term:N 贷款利率（%）:rate:M6 "
            "发放日期:granted_on:D 贷款余额（元）:balance:M14 逾期状态:overdue:C8",
        ),
        t(
            "建筑业企业资质信息", "209003", "open", D, DB,
            "资质证书编号:certificate_no:C32:k 企业名称:org_name:C200 @uscc @legal "
            "资质类别及等级:qualification:C500 发证机关:issuer:C100 发证日期:issued_on:D "
            "@valid_until",
        ),
        t(
            "商品房网签备案信息", "209002", "personal", D, DB,
            "合同备案号:filing_no:C32:k 项目名称:project_name:C200 房屋坐落:location:C200 "
            "建筑面积（平方米）:area:M10 成交总价（元）:price:M14 买受人:buyer:C100 "
            "@id_no=买受人证件号码 备案日期:filed_on:D",
        ),
        t(
            "公共租赁住房保障对象信息", "209002", "personal", M, DB,
            "@id_no:k @name @region 保障方式:mode:C16 家庭人口数:family_size:N "
            "房源地址:flat:C200 租赁补贴（元/月）:subsidy:M10 配租日期:allocated_on:D",
        ),
        t(
            "建筑工程施工许可信息", "209001", "open", D, DB,
            "施工许可证编号:permit_no:C32:k 项目名称:project_name:C200 建设单位:builder:C200 "
            "@uscc=建设单位统一社会信用代码 建设地址:site:C200 合同价格（万元）:price:M14 "
            "建筑面积（平方米）:area:M12 发证日期:issued_on:D",
        ),
        t(
            "注册建造师信息", "209003", "open", M, DB,
            "注册编号:registration_no:C20:k @name @gender 注册专业:field:C64 "
            "聘用企业:employer:C200 @valid_until",
        ),
        t(
            "城镇老旧小区改造项目信息", "209004", "open", Q, XLS,
            "小区名称:estate:C100:k @region 建成年代:built_year:N 改造户数:households:N "
            "改造内容:works:C1000 总投资（万元）:investment:M12 完工日期:completed_on:D",
        ),
    ),
    "transport": (
        t(
            "道路运输经营许可信息", "214001", "open", D, DB,
            "@license_no=道路运输经营许可证号:k 业户名称:org_name:C200 @uscc 经营范围:scope:C500 "
            "经营地址:location:C200 发证日期:issued_on:D @valid_until",
        ),
        t(
            "道路运输从业人员从业资格信息", "214001", "cond", D, DB,
            "从业资格证号:certificate_no:C20:k @id_no @name 从业资格类别:kind:C64 "
            "发证日期:issued_on:D @valid_until 诚信考核等级:rating:C8",
        ),
        t(
            "营运车辆信息", "214002", "public", D, DB,
            "道路运输证号:transport_no:C20:k 车牌号码:plate_no:C15 车辆类型:vehicle_type:C32 "
            "业户名称:operator:C200 核定载客（吨）位:capacity:C16 技术等级:tech_grade:C8 "
            "年审有效期至:inspected_until:D",
        ),
        t(
            "公路路网基础信息", "214004", "open", Y, DB,
            "路线编号:route_no:C16:k 路线名称:route:C100 技术等级:tech_grade:C16 "
            "起点桩号:start_km:M10 止点桩号:end_km:M10 里程（公里）:length_km:M10 "
            "@region=所在行政区划代码",
        ),
        t(
            "巡游出租汽车驾驶员信息", "214003", "cond", M, DB,
            "从业资格证号:certificate_no:C20:k @id_no @name 服务单位:company:C200 "
            "注册日期:registered_on:D 服务质量信誉等级:rating:C8",
        ),
        t(
            "交通运输行政处罚信息", "104003", "open", D, DB,
            "@penalty_no:k 当事人:party:C200 违法行为:offence:C500 处罚依据:basis:C500 "
            "@penalty_amount @penalty_date",
        ),
        t(
            "公路建设项目信息", "307002", "public", Q, DB,
            "项目名称:project_name:C200:k 项目类型:kind:C32 建设里程（公里）:length_km:M10 "
            "总投资（亿元）:investment:M12 开工日期:started_on:D 计划完工日期:planned_end:D "
            "建设单位:builder:C200",
        ),
        t(
            "道路客运班线信息", "214001", "open", M, DB,
            "班线编号:line_no:C24:k 起讫地:route:C200 途经站点:stops:C500 日发班次:daily_trips:N "
            "经营者:operator:C200 @valid_until",
        ),
    ),
    "water": (
        t(
            "取水许可信息", "103005", "open", M, DB,
            "取水许可证编号:permit_no:C32:k 取水权人:holder:C200 @uscc=取水权人统一社会信用代码 "
            "取水地点:site:C200 水源类型:source:C16 许可水量（万立方米/年）:volume:M12 "
            "@valid_until",
        ),
        t(
            "水文实时监测信息", "103005", "public", R, API,
            "测站编码:station_code:C8:k 测站名称:station:C64 河流:river:C64 "
            "监测时间:measured_at:T 水位（米）:level:M8 流量（立方米/秒）:flow:M10 "
            "雨量（毫米）:rain:M8",
            "黄河、湟水等主要河流水文站和雨量站实时数据。",
            ("水位", "雨量", "黄河"),
        ),
        t(
            "河湖长制信息", "305003", "open", Y, XLS,
            "河湖名称:river:C100:k 河湖编码:river_code:C20 @region 河湖长姓名:chief:C50 "
            "河湖长职务:title:C100 级别:level:C8",
        ),
        t(
            "水库大坝安全信息", "308003", "core", M, DB,
            "水库编码:reservoir_code:C16:k 水库名称:reservoir:C100 @region "
            "总库容（万立方米）:capacity:M12 坝型:dam_type:C32 坝高（米）:dam_height:M8 "
            "安全鉴定类别:safety_class:C8 防汛责任人:responsible:C50 @phone",
        ),
        t(
            "水土保持方案审批信息", "305003", "open", M, DB,
            "批复文号:approval_no:C64:k 项目名称:project_name:C200 生产建设单位:builder:C200 "
            "水土流失防治责任范围（公顷）:area:M12 批复日期:approved_on:D",
        ),
    ),
    "agri": (
        t(
            "农村土地承包经营权信息", "215001", "personal", Y, DB,
            "承包经营权证编号:certificate_no:C32:k 承包方代表:contractor:C50 "
            "@id_no=承包方代表公民身份号码 @region=发包方所在行政区划代码 发包方:lessor:C100 "
            "承包地块数:parcels:N 承包面积（亩）:area:M12 承包期限:term:C32",
        ),
        t(
            "新型农业经营主体信息", "215002", "open", Q, DB,
            "@uscc:k 主体名称:org_name:C200 主体类型:kind:C32 @legal @region "
            "主营产业:business:C200 成员数:members:N 认定级别:level:C16",
        ),
        t(
            "动物防疫条件合格证信息", "215004", "open", M, DB,
            "合格证编号:certificate_no:C32:k 单位名称:org_name:C200 @uscc 场所地址:location:C200 "
            "经营范围:scope:C200 发证日期:issued_on:D",
        ),
        t(
            "农药经营许可信息", "104002", "open", M, DB,
            "@license_no=农药经营许可证编号:k 经营者名称:org_name:C200 @uscc "
            "经营场所:location:C200 经营范围:scope:C200 @valid_until",
        ),
        t(
            "牦牛藏羊追溯信息", "308002", "public", D, DB,
            "耳标号:ear_tag:C20:k 畜种:species:C16 养殖场户:farm:C100 @region 出生日期:born_on:D "
            "免疫记录:vaccinations:C500 出栏日期:sold_on:D 检疫证明编号:quarantine_no:C32",
            "高原牦牛、藏羊从养殖、检疫到屠宰的全程追溯信息。",
            ("牦牛", "藏羊", "追溯"),
        ),
        t(
            "农机购置与应用补贴信息", "308001", "cond", M, DB,
            "补贴编号:subsidy_no:C24:k 购机者:buyer:C100 @id_no=购机者证件号码 "
            "机具品目:machine:C64 生产企业:maker:C200 补贴额（元）:amount:M10 "
            "结算日期:settled_on:D",
        ),
    ),
    "culture": (
        t(
            "A级旅游景区信息", "216001", "open", Q, DB,
            "景区名称:scenic_area:C100:k 等级:level:C4 @region 地址:location:C200 @lng @lat "
            "最大承载量（人次/日）:capacity:N 开放时间:opening_hours:C200 "
            "咨询电话:office_phone:C20",
            "全省A级旅游景区名录，含青海湖、塔尔寺、茶卡盐湖等景区的等级、位置和最大承载量。",
            ("景区", "旅游", "青海湖"),
        ),
        t(
            "旅行社信息", "216002", "open", M, DB,
            "@license_no=旅行社业务经营许可证编号:k 旅行社名称:org_name:C200 @uscc "
            "经营范围:scope:C200 经营场所:location:C200 质量保证金（万元）:deposit:M10 "
            "@valid_until",
        ),
        t(
            "导游证信息", "216002", "cond", M, DB,
            "导游证号:guide_no:C20:k @name @gender 语种:languages:C64 导游等级:level:C8 "
            "执业单位:agency:C200 @valid_until",
        ),
        t(
            "文物保护单位信息", "216003", "open", Y, DB,
            "单位名称:site:C100:k 保护级别:level:C16 类别:kind:C32 时代:era:C32 @region "
            "公布批次:batch:C32 @lng @lat",
        ),
        t(
            "非物质文化遗产项目信息", "216004", "open", Y, DB,
            "项目编号:item_no:C16:k 项目名称:item:C100 类别:kind:C32 级别:level:C16 "
            "申报地区:area:C100 保护单位:protector:C200 代表性传承人:inheritors:C200",
            "热贡艺术、格萨尔、花儿等各级非物质文化遗产代表性项目。",
            ("非遗", "热贡", "花儿"),
        ),
        t(
            "星级旅游饭店信息", "216002", "open", Q, DB,
            "饭店名称:hotel:C100:k 星级:stars:N @uscc 地址:location:C200 客房数:rooms:N "
            "评定日期:rated_on:D",
        ),
        t(
            "营业性演出许可信息", "309003", "open", M, DB,
            "@license_no=营业性演出许可证编号:k 单位名称:org_name:C200 @uscc 演出类别:kind:C32 "
            "@valid_until",
        ),
    ),
    "emergency": (
        t(
            "安全生产许可证信息", "205001", "open", D, DB,
            "@license_no=安全生产许可证编号:k 企业名称:org_name:C200 @uscc @legal "
            "许可范围:scope:C500 发证日期:issued_on:D @valid_until",
        ),
        t(
            "危险化学品重大危险源信息", "205003", "cond", M, DB,
            "危险源编码:hazard_code:C24:k 企业名称:org_name:C200 @uscc 危险源名称:hazard:C100 "
            "危险等级:level:C8 主要危险化学品:chemicals:C500 @lng @lat "
            "安全负责人:responsible:C50 @phone",
        ),
        t(
            "应急救援队伍信息", "212004", "cond", Q, DB,
            "队伍名称:team:C100:k 队伍类型:kind:C32 @region 人数:members:N "
            "主要装备:equipment:C500 负责人:leader:C50 值班电话:duty_phone:C20",
        ),
        t(
            "应急物资储备信息", "212002", "core", M, DB,
            "储备库名称:depot:C100:k @region 物资名称:material:C64 规格型号:spec:C64 "
            "计量单位:unit:C8 储备数量:quantity:M12 @lng @lat",
        ),
        t(
            "生产安全事故信息", "205002", "public", M, DB,
            "事故编号:accident_no:C24:k 事故名称:accident:C200 发生时间:occurred_at:T @region "
            "事故类型:kind:C32 死亡人数:deaths:N 受伤人数:injuries:N "
            "直接经济损失（万元）:loss:M12 事故等级:level:C8",
        ),
        t(
            "自然灾害灾情信息", "212003", "public", IR, DB,
            "灾情编号:event_no:C24:k 灾害种类:kind:C16 发生时间:occurred_at:T @region "
            "受灾人口:affected:N 紧急转移安置人口:evacuated:N 倒塌房屋（间）:houses:N "
            "直接经济损失（万元）:loss:M12",
        ),
        t(
            "特种作业操作证信息", "205001", "cond", M, DB,
            "证号:certificate_no:C24:k @id_no @name 作业类别:kind:C64 操作项目:operation:C64 "
            "初领日期:first_issued_on:D @valid_until",
        ),
    ),
    "forestry": (
        t(
            "林木采伐许可信息", "103006", "open", M, DB,
            "采伐许可证号:permit_no:C24:k 申请人:applicant:C100 @region 采伐地点:site:C200 "
            "林种:forest_kind:C16 采伐方式:method:C16 采伐蓄积（立方米）:volume:M10 "
            "发证日期:issued_on:D",
        ),
        t(
            "自然保护地信息", "103006", "public", Y, IMG,
            "保护地名称:reserve:C100:k 保护地类型:kind:C32 级别:level:C16 @region "
            "面积（公顷）:area:M14 主要保护对象:targets:C500 管理机构:manager:C100",
        ),
        t(
            "野生动物致害补偿信息", "305004", "personal", Q, DB,
            "案件编号:case_no:C24:k @id_no=受损人公民身份号码 @name=受损人姓名 @region "
            "致害物种:species:C64 损失类型:loss_type:C32 补偿金额（元）:amount:M10 "
            "补偿日期:paid_on:D",
            "雪豹、棕熊、狼等野生动物造成人身伤害和牲畜、财产损失的补偿信息。",
            ("棕熊", "野生动物", "补偿"),
        ),
        t(
            "草原生态保护补助奖励信息", "215003", "personal", Y, DB,
            "@id_no:k @name @region 禁牧面积（亩）:grazing_ban_area:M12 "
            "草畜平衡面积（亩）:balance_area:M12 补奖金额（元）:amount:M10 发放年度:year:N",
        ),
        t(
            "森林草原火险监测信息", "212003", "cond", D, DB,
            "监测点编号:station_no:C16:k @region 监测日期:measured_on:D 火险等级:level:N "
            "气温（℃）:temperature:M6 相对湿度（%）:humidity:M6 风力（级）:wind:N",
        ),
        t(
            "国有林场基本信息", "305004", "open", Y, XLS,
            "林场名称:forest_farm:C100:k @region 经营面积（公顷）:area:M14 "
            "森林覆盖率（%）:coverage:M6 在册职工数:staff:N",
        ),
    ),
}
# fmt: on
