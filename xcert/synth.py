"""Synthetic registry generator for scale tests.

``python -m xcert.synth --scale national|quarter|small --out DIR [--seed N] [--force]``
writes a complete registry in the format of ``docs/registry-format.md``: every entity is
marked ``example: true`` and every value is made up, so the output must never be copied
into ``registry/``. With ``--no-example`` the flag is left off (the same bytes otherwise),
so the site counts the entities and national statistics and charts get exercised; the
registry's name still says it is synthetic. The output is a pure function of (scale, seed): one
``random.Random(seed)`` drives every choice, and nothing iterates over a set or a clock.

USCCs (GB 32100-2015 check character, and the GB 11714 check character of the embedded
organization code) and 10-digit school codes are generated with their real check rules,
so a national-scale registry exercises the validators on tens of thousands of values.
YAML is written by a small emitter (block style, flow style for short records) that is
an order of magnitude faster than ``yaml.dump`` at this size.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from nacl.signing import SigningKey

__all__ = ["SCALES", "Scale", "generate", "main", "uscc_check_char", "dump_yaml"]

# --------------------------------------------------------------------------------------
# Scales


@dataclass(frozen=True)
class Scale:
    certificates: int
    organizations: int
    colleges: int
    pilots_per_college: float  # mean
    site_share: float  # share of pilots that also host an assessment site
    revocations: int
    notices: int


SCALES: dict[str, Scale] = {
    "national": Scale(450, 300, 10_000, 6.0, 0.25, 50_000, 6),
    "quarter": Scale(112, 75, 2_500, 6.0, 0.25, 12_500, 6),
    "small": Scale(10, 6, 40, 4.0, 0.4, 60, 3),
}

DEFAULT_SEED = 2019
SITE_URL = "http://127.0.0.1:8000"
VERIFY_URL = "http://127.0.0.1:8001"
# Every status, window start and pilot date lies on or before this day; only the end of
# a signing window (sign_until) may lie after it.
LAST_DAY = dt.date(2026, 6, 30)

SCHEMA_LINE = "# yaml-language-server: $schema=../../schema/{kind}.schema.json\n"
REGISTRY_SCHEMA_LINE = "# yaml-language-server: $schema=../schema/registry.schema.json\n"

# --------------------------------------------------------------------------------------
# Vocabulary (all made up or generic; nothing here is an official fact)

# fmt: off
# code, zh, slug, weight (per-mille of colleges), cities: (city name, pinyin)
PROVINCES: list[tuple[str, str, str, int, list[tuple[str, str]]]] = [
    ("11", "北京", "beijing", 15, [("北京市", "Beijing")]),
    ("12", "天津", "tianjin", 12, [("天津市", "Tianjin")]),
    ("13", "河北", "hebei", 55,
     [("石家庄市", "Shijiazhuang"), ("唐山市", "Tangshan"), ("保定市", "Baoding"), ("邯郸市", "Handan"),
      ("沧州市", "Cangzhou"), ("邢台市", "Xingtai")]),
    ("14", "山西", "shanxi", 30,
     [("太原市", "Taiyuan"), ("大同市", "Datong"), ("长治市", "Changzhi"), ("晋中市", "Jinzhong"),
      ("运城市", "Yuncheng")]),
    ("15", "内蒙古", "neimenggu", 20,
     [("呼和浩特市", "Hohhot"), ("包头市", "Baotou"), ("赤峰市", "Chifeng"), ("鄂尔多斯市", "Ordos"),
      ("通辽市", "Tongliao")]),
    ("21", "辽宁", "liaoning", 30,
     [("沈阳市", "Shenyang"), ("大连市", "Dalian"), ("鞍山市", "Anshan"), ("锦州市", "Jinzhou"),
      ("抚顺市", "Fushun")]),
    ("22", "吉林", "jilin", 20,
     [("长春市", "Changchun"), ("吉林市", "Jilin"), ("四平市", "Siping"), ("通化市", "Tonghua"),
      ("白城市", "Baicheng")]),
    ("23", "黑龙江", "heilongjiang", 25,
     [("哈尔滨市", "Harbin"), ("齐齐哈尔市", "Qiqihar"), ("牡丹江市", "Mudanjiang"),
      ("佳木斯市", "Jiamusi"), ("大庆市", "Daqing")]),
    ("31", "上海", "shanghai", 12, [("上海市", "Shanghai")]),
    ("32", "江苏", "jiangsu", 55,
     [("南京市", "Nanjing"), ("苏州市", "Suzhou"), ("无锡市", "Wuxi"), ("常州市", "Changzhou"),
      ("徐州市", "Xuzhou"), ("南通市", "Nantong"), ("扬州市", "Yangzhou")]),
    ("33", "浙江", "zhejiang", 40,
     [("杭州市", "Hangzhou"), ("宁波市", "Ningbo"), ("温州市", "Wenzhou"), ("金华市", "Jinhua"),
      ("绍兴市", "Shaoxing"), ("台州市", "Taizhou")]),
    ("34", "安徽", "anhui", 45,
     [("合肥市", "Hefei"), ("芜湖市", "Wuhu"), ("安庆市", "Anqing"), ("蚌埠市", "Bengbu"),
      ("阜阳市", "Fuyang")]),
    ("35", "福建", "fujian", 30,
     [("福州市", "Fuzhou"), ("厦门市", "Xiamen"), ("泉州市", "Quanzhou"), ("漳州市", "Zhangzhou"),
      ("莆田市", "Putian")]),
    ("36", "江西", "jiangxi", 35,
     [("南昌市", "Nanchang"), ("九江市", "Jiujiang"), ("赣州市", "Ganzhou"), ("上饶市", "Shangrao"),
      ("宜春市", "Yichun")]),
    ("37", "山东", "shandong", 70,
     [("济南市", "Jinan"), ("青岛市", "Qingdao"), ("烟台市", "Yantai"), ("潍坊市", "Weifang"),
      ("淄博市", "Zibo"), ("临沂市", "Linyi"), ("济宁市", "Jining")]),
    ("41", "河南", "henan", 80,
     [("郑州市", "Zhengzhou"), ("洛阳市", "Luoyang"), ("开封市", "Kaifeng"), ("新乡市", "Xinxiang"),
      ("南阳市", "Nanyang"), ("商丘市", "Shangqiu"), ("信阳市", "Xinyang")]),
    ("42", "湖北", "hubei", 45,
     [("武汉市", "Wuhan"), ("宜昌市", "Yichang"), ("襄阳市", "Xiangyang"), ("荆州市", "Jingzhou"),
      ("十堰市", "Shiyan")]),
    ("43", "湖南", "hunan", 50,
     [("长沙市", "Changsha"), ("株洲市", "Zhuzhou"), ("湘潭市", "Xiangtan"), ("衡阳市", "Hengyang"),
      ("岳阳市", "Yueyang"), ("常德市", "Changde")]),
    ("44", "广东", "guangdong", 70,
     [("广州市", "Guangzhou"), ("深圳市", "Shenzhen"), ("佛山市", "Foshan"), ("东莞市", "Dongguan"),
      ("珠海市", "Zhuhai"), ("汕头市", "Shantou"), ("惠州市", "Huizhou")]),
    ("45", "广西", "guangxi", 35,
     [("南宁市", "Nanning"), ("柳州市", "Liuzhou"), ("桂林市", "Guilin"), ("梧州市", "Wuzhou"),
      ("北海市", "Beihai")]),
    ("46", "海南", "hainan", 8, [("海口市", "Haikou"), ("三亚市", "Sanya"), ("儋州市", "Danzhou")]),
    ("50", "重庆", "chongqing", 25, [("重庆市", "Chongqing")]),
    ("51", "四川", "sichuan", 60,
     [("成都市", "Chengdu"), ("绵阳市", "Mianyang"), ("德阳市", "Deyang"), ("南充市", "Nanchong"),
      ("宜宾市", "Yibin"), ("泸州市", "Luzhou")]),
    ("52", "贵州", "guizhou", 30,
     [("贵阳市", "Guiyang"), ("遵义市", "Zunyi"), ("六盘水市", "Liupanshui"), ("安顺市", "Anshun"),
      ("毕节市", "Bijie")]),
    ("53", "云南", "yunnan", 35,
     [("昆明市", "Kunming"), ("曲靖市", "Qujing"), ("玉溪市", "Yuxi"), ("昭通市", "Zhaotong"),
      ("保山市", "Baoshan")]),
    ("54", "西藏", "xizang", 4, [("拉萨市", "Lhasa"), ("日喀则市", "Xigaze"), ("林芝市", "Nyingchi")]),
    ("61", "陕西", "shaanxi", 30,
     [("西安市", "Xi'an"), ("宝鸡市", "Baoji"), ("咸阳市", "Xianyang"), ("渭南市", "Weinan"),
      ("汉中市", "Hanzhong")]),
    ("62", "甘肃", "gansu", 20,
     [("兰州市", "Lanzhou"), ("天水市", "Tianshui"), ("酒泉市", "Jiuquan"), ("武威市", "Wuwei"),
      ("张掖市", "Zhangye")]),
    ("63", "青海", "qinghai", 5, [("西宁市", "Xining"), ("海东市", "Haidong")]),
    ("64", "宁夏", "ningxia", 6,
     [("银川市", "Yinchuan"), ("石嘴山市", "Shizuishan"), ("吴忠市", "Wuzhong"), ("固原市", "Guyuan")]),
    ("65", "新疆", "xinjiang", 20,
     [("乌鲁木齐市", "Urumqi"), ("克拉玛依市", "Karamay"), ("哈密市", "Hami"), ("吐鲁番市", "Turpan")]),
]

# field id, zh, en, topics (slug, zh, en), roles (slug, zh, en), work areas, majors
_Named = list[tuple[str, str, str]]
FIELDS: list[tuple[str, str, str, _Named, _Named, list[str], list[str]]] = [
    ("elderly-care", "养老服务", "Elderly care",
     [("elder", "老年", "Elderly"), ("dementia", "失智老年人", "Dementia"),
      ("rehab", "老年康复", "Elderly Rehabilitation"), ("elder-diet", "老年膳食", "Elderly Diet"),
      ("community-elder", "社区养老", "Community Elderly"),
      ("elder-psych", "老年心理", "Elderly Psychological"),
      ("smart-elder", "智慧养老", "Smart Elderly"), ("hospice", "安宁疗护", "Hospice")],
     [("care", "照护", "Care"), ("service", "服务", "Services"), ("mgmt", "管理", "Management"),
      ("assess", "能力评估", "Capability Assessment"), ("guide", "指导", "Guidance")],
     ["生活照护", "基础照护", "康复服务", "心理支持", "安全防护", "照护评估", "沟通协调"],
     ["智慧健康养老服务与管理", "老年保健与管理", "社区康复", "护理"]),
    ("domestic-service", "家政服务", "Domestic service",
     [("housekeeping", "家政", "Housekeeping"), ("home-cleaning", "家居保洁", "Home Cleaning"),
      ("home-storage", "家居收纳", "Home Organizing"), ("home-cooking", "家庭烹饪", "Home Cooking"),
      ("laundry", "衣物洗护", "Garment Care"), ("home-care", "居家护理", "Home Nursing")],
     [("service", "服务", "Services"), ("mgmt", "管理", "Management"), ("training", "培训", "Training"),
      ("ops", "运营", "Operations")],
     ["家庭保洁", "衣物护理", "家庭餐制作", "家居收纳整理", "服务礼仪", "客户沟通"],
     ["现代家政服务与管理", "家政服务", "社区管理与服务"]),
    ("childcare", "托育服务", "Childcare",
     [("infant", "幼儿", "Infant"), ("early-edu", "早期教育", "Early Education"),
      ("nursery", "托育机构", "Nursery"), ("child-nutrition", "婴幼儿营养", "Infant Nutrition"),
      ("child-health", "婴幼儿健康", "Infant Health")],
     [("care", "照护", "Care"), ("guide", "指导", "Guidance"), ("mgmt", "管理", "Management"),
      ("service", "服务", "Services")],
     ["生活照料", "安全健康管理", "早期发展支持", "家园共育", "环境创设"],
     ["婴幼儿托育服务与管理", "早期教育", "学前教育"]),
    ("maternal-infant-care", "母婴护理", "Maternal and infant care",
     [("maternal", "母婴", "Maternal and Infant"), ("postpartum", "产后康复", "Postpartum Recovery"),
      ("lactation", "母乳喂养", "Breastfeeding"), ("newborn", "新生儿", "Newborn")],
     [("care", "护理", "Care"), ("guide", "指导", "Guidance"), ("service", "服务", "Services")],
     ["产妇护理", "新生儿护理", "喂养指导", "产后康复", "家庭沟通"], ["护理", "助产", "母婴照护"]),
    ("health", "医疗健康", "Health care",
     [("health-mgmt", "健康管理", "Health Management"), ("tcm", "中医康养", "TCM Wellness"),
      ("nutrition", "营养配餐", "Nutrition Catering"), ("pharmacy", "药品购销", "Drug Distribution"),
      ("med-device", "医疗器械", "Medical Device"),
      ("sports-rehab", "运动康复", "Sports Rehabilitation"),
      ("massage", "康复按摩", "Rehabilitation Massage")],
     [("service", "服务", "Services"), ("ops", "运营", "Operations"), ("mgmt", "管理", "Management"),
      ("tech", "技术", "Technology")], ["健康监测", "健康评估", "健康干预", "服务管理", "质量控制"],
     ["健康管理", "中医康复技术", "药品经营与管理", "医疗器械维护与管理"]),
    ("information-technology", "信息技术", "Information technology",
     [("cloud", "云计算平台", "Cloud Computing Platform"), ("bigdata", "大数据", "Big Data"),
      ("ai", "人工智能", "Artificial Intelligence"), ("netsec", "网络安全", "Cyber Security"),
      ("web", "Web前端", "Web Front-end"), ("mobile", "移动应用", "Mobile Application"),
      ("blockchain", "区块链", "Blockchain"), ("database", "数据库", "Database"),
      ("vr", "虚拟现实", "Virtual Reality"), ("devops", "软件测试", "Software Testing"),
      ("iiot", "工业互联网", "Industrial Internet"), ("java", "Java应用", "Java Application")],
     [("dev", "开发", "Development"), ("ops", "运维", "Operation and Maintenance"),
      ("app", "应用", "Application"), ("impl", "实施", "Implementation"), ("test", "测试", "Testing"),
      ("design", "设计", "Design")],
     ["需求分析", "系统部署", "编码实现", "测试验证", "运行维护", "安全管理", "文档编写"],
     ["计算机应用技术", "软件技术", "云计算技术应用", "大数据技术", "信息安全技术应用"]),
    ("intelligent-manufacturing", "智能制造", "Intelligent manufacturing",
     [("robot", "工业机器人", "Industrial Robot"), ("cnc", "数控机床", "CNC Machine Tool"),
      ("plc", "可编程控制器", "PLC"), ("welding", "特殊焊接", "Special Welding"),
      ("mold", "模具", "Mould"), ("3dprint", "增材制造", "Additive Manufacturing"),
      ("smartline", "智能产线", "Smart Production Line"), ("mech", "机械产品", "Mechanical Product"),
      ("hydraulic", "液压气动", "Hydraulic and Pneumatic")],
     [("ops", "操作与运维", "Operation and Maintenance"), ("prog", "应用编程", "Programming"),
      ("integ", "集成应用", "Integration"), ("design", "设计", "Design"),
      ("debug", "安装调试", "Installation and Commissioning"), ("tech", "技术", "Technology")],
     ["设备安装", "程序编写", "系统调试", "故障诊断", "生产管理", "质量检测"],
     ["工业机器人技术", "机电一体化技术", "数控技术", "智能焊接技术", "模具设计与制造"]),
    ("automotive", "汽车", "Automotive",
     [("auto", "汽车运用", "Automobile Application"),
      ("nev", "智能新能源汽车", "Smart New Energy Vehicle"),
      ("auto-elec", "汽车电子", "Automotive Electronics"),
      ("auto-paint", "汽车涂装", "Automotive Painting"), ("ev-battery", "动力电池", "Power Battery"),
      ("adas", "智能网联汽车", "Connected Vehicle")],
     [("maint", "维修", "Maintenance and Repair"), ("test", "检测", "Inspection"),
      ("tech", "技术", "Technology"), ("service", "服务", "Services")],
     ["车辆检查", "故障诊断", "维修作业", "系统测试", "客户服务"],
     ["汽车检测与维修技术", "新能源汽车技术", "智能网联汽车技术", "汽车电子技术"]),
    ("construction", "建筑工程", "Construction",
     [("bim", "建筑信息模型", "Building Information Modeling"),
      ("prefab", "装配式建筑", "Prefabricated Building"), ("survey", "工程测量", "Engineering Survey"),
      ("cost", "工程造价", "Construction Cost"), ("interior", "室内设计", "Interior Design"),
      ("bridge", "路桥工程", "Road and Bridge")],
     [("app", "应用", "Application"), ("design", "设计", "Design"),
      ("construct", "施工", "Construction"), ("mgmt", "管理", "Management"),
      ("digital", "数字化", "Digitalization")],
     ["识图建模", "施工组织", "质量检查", "成本控制", "协同管理"],
     ["建筑工程技术", "建设工程管理", "工程造价", "建筑装饰工程技术"]),
    ("logistics", "物流", "Logistics",
     [("logistics", "物流", "Logistics"), ("warehouse", "仓储", "Warehouse"),
      ("cold-chain", "冷链物流", "Cold Chain"), ("supply-chain", "供应链", "Supply Chain"),
      ("port", "港口物流", "Port Logistics")],
     [("mgmt", "管理", "Management"), ("ops", "运营", "Operations"), ("plan", "规划", "Planning"),
      ("data", "数据分析", "Data Analysis")],
     ["订单处理", "仓储作业", "运输调度", "库存控制", "供应链协同"],
     ["现代物流管理", "供应链运营", "冷链物流技术与管理"]),
    ("e-commerce", "电子商务", "E-commerce",
     [("ecom", "电子商务", "E-commerce"), ("shop", "网店", "Online Shop"),
      ("live", "直播电商", "Live Streaming E-commerce"),
      ("crossborder", "跨境电商", "Cross-border E-commerce"), ("new-media", "新媒体", "New Media"),
      ("rural-ecom", "农村电商", "Rural E-commerce")],
     [("data", "数据分析", "Data Analysis"), ("ops", "运营推广", "Operation and Promotion"),
      ("marketing", "营销", "Marketing"), ("service", "客户服务", "Customer Service")],
     ["市场分析", "店铺运营", "内容策划", "数据监控", "客户服务"],
     ["电子商务", "跨境电子商务", "网络营销与直播电商", "移动商务"]),
    ("finance-accounting", "财经商贸", "Finance and accounting",
     [("tax", "智能财税", "Intelligent Finance and Tax"), ("fin-share", "财务共享", "Shared Finance"),
      ("budget", "预算管理", "Budget Management"), ("audit", "数字审计", "Digital Audit"),
      ("payment", "金融支付", "Financial Payment"), ("insurance", "保险", "Insurance")],
     [("service", "服务", "Services"), ("app", "应用", "Application"), ("analysis", "分析", "Analysis"),
      ("mgmt", "管理", "Management")], ["票据处理", "账务核算", "纳税申报", "数据分析", "风险控制"],
     ["大数据与会计", "财务管理", "金融服务与管理", "税务"]),
    ("tourism-hospitality", "旅游餐饮", "Tourism and hospitality",
     [("hotel", "酒店", "Hotel"), ("tour", "研学旅行", "Study Tour"), ("cuisine", "餐饮", "Catering"),
      ("bakery", "西式面点", "Western Pastry"), ("tea", "茶艺", "Tea Art"),
      ("event", "会展", "Exhibition")],
     [("service", "服务", "Services"), ("mgmt", "管理", "Management"), ("ops", "运营", "Operations"),
      ("plan", "策划", "Planning")], ["接待服务", "产品设计", "现场管理", "成本控制", "安全管理"],
     ["酒店管理与数字化运营", "旅游管理", "烹饪工艺与营养", "会展策划与管理"]),
    ("agriculture", "现代农业", "Modern agriculture",
     [("smart-farm", "智慧农业", "Smart Agriculture"),
      ("drone", "植保无人机", "Plant Protection Drone"), ("horticulture", "园艺", "Horticulture"),
      ("livestock", "畜禽养殖", "Livestock"), ("agri-product", "农产品", "Agricultural Product")],
     [("tech", "技术", "Technology"), ("ops", "运营", "Operations"), ("app", "应用", "Application"),
      ("test", "检测", "Inspection")], ["生产作业", "设备操作", "质量检测", "病虫害防治", "经营管理"],
     ["现代农业技术", "园艺技术", "畜牧兽医", "食品检验检测技术"]),
    ("culture-arts", "文化艺术", "Culture and arts",
     [("ui", "界面设计", "UI Design"), ("animation", "数字动画", "Digital Animation"),
      ("photo", "数字影像", "Digital Imaging"), ("game", "游戏美术", "Game Art"),
      ("heritage", "文物修复", "Cultural Relic Restoration"), ("design", "视觉设计", "Visual Design")],
     [("design", "设计", "Design"), ("prod", "制作", "Production"), ("app", "应用", "Application")],
     ["创意策划", "素材制作", "作品合成", "项目管理", "版权规范"],
     ["数字媒体艺术设计", "动漫制作技术", "视觉传达设计", "文物修复与保护"]),
    ("transportation", "交通运输", "Transportation",
     [("rail", "城市轨道交通", "Urban Rail Transit"), ("railway", "铁路信号", "Railway Signal"),
      ("aviation", "民航", "Civil Aviation"), ("uav", "无人机", "Unmanned Aerial Vehicle"),
      ("shipping", "船舶", "Ship"), ("traffic", "智能交通", "Intelligent Traffic")],
     [("ops", "运营", "Operations"), ("maint", "维护", "Maintenance"), ("service", "服务", "Services"),
      ("drive", "驾驶", "Piloting")], ["运行组织", "设备维护", "安全管理", "应急处置", "客运服务"],
     ["城市轨道交通运营管理", "铁道信号自动控制", "民航运输服务", "无人机应用技术"]),
    ("energy-environment", "能源环保", "Energy and environment",
     [("pv", "光伏电站", "Photovoltaic Power Station"), ("wind", "风电", "Wind Power"),
      ("grid", "配电网", "Distribution Network"), ("water", "污水处理", "Wastewater Treatment"),
      ("env-monitor", "环境监测", "Environmental Monitoring"),
      ("storage", "储能系统", "Energy Storage")],
     [("ops", "运维", "Operation and Maintenance"), ("test", "检测", "Inspection"),
      ("design", "设计", "Design"), ("tech", "技术", "Technology")],
     ["设备巡检", "运行监控", "数据分析", "故障处理", "安全规范"],
     ["光伏工程技术", "风力发电工程技术", "环境监测技术", "供用电技术"]),
    ("electronics", "电子信息", "Electronics",
     [("sensor", "传感网", "Sensor Network"), ("chip", "集成电路", "Integrated Circuit"),
      ("embedded", "嵌入式", "Embedded System"), ("smart-home", "智能家居", "Smart Home"),
      ("5g", "移动通信", "Mobile Communication"), ("pcb", "电子产品", "Electronic Product")],
     [("dev", "应用开发", "Application Development"), ("test", "测试", "Testing"),
      ("design", "设计", "Design"), ("integ", "系统集成", "System Integration")],
     ["电路设计", "程序开发", "系统装调", "产品测试", "技术支持"],
     ["物联网应用技术", "集成电路技术", "嵌入式技术应用", "现代通信技术"]),
    ("media", "新闻传播", "Media and communication",
     [("short-video", "短视频", "Short Video"), ("publishing", "数字出版", "Digital Publishing"),
      ("broadcast", "融媒体", "Converged Media"), ("copywriting", "文案", "Copywriting")],
     [("prod", "制作", "Production"), ("ops", "运营", "Operations"), ("plan", "策划", "Planning")],
     ["选题策划", "内容采编", "后期制作", "账号运营", "舆情分析"],
     ["融媒体技术与运营", "网络新闻与传播", "数字出版"]),
    ("public-service", "公共管理与服务", "Public administration and services",
     [("community", "社区治理", "Community Governance"), ("social-work", "社会工作", "Social Work"),
      ("property", "物业", "Property"), ("security", "安防", "Security"),
      ("hr", "人力资源", "Human Resources")],
     [("service", "服务", "Services"), ("mgmt", "管理", "Management"), ("tech", "技术", "Technology")],
     ["政策宣传", "居民服务", "事务管理", "资源协调", "档案管理"],
     ["社区管理与服务", "社会工作", "现代物业管理", "人力资源管理"]),
]

BATCHES: list[tuple[int, dt.date, float]] = [  # batch, announcement day, share of certificates
    (1, dt.date(2019, 4, 10), 6 / 450),
    (2, dt.date(2019, 9, 20), 10 / 450),
    (3, dt.date(2020, 1, 16), 76 / 450),
    (4, dt.date(2020, 12, 25), 358 / 450),
]

BRAND = [
    ("中", "Zhong"),
    ("华", "Hua"),
    ("新", "Xin"),
    ("博", "Bo"),
    ("智", "Zhi"),
    ("天", "Tian"),
    ("金", "Jin"),
    ("恒", "Heng"),
    ("瑞", "Rui"),
    ("嘉", "Jia"),
    ("达", "Da"),
    ("信", "Xin"),
    ("宏", "Hong"),
    ("联", "Lian"),
    ("创", "Chuang"),
    ("远", "Yuan"),
    ("盛", "Sheng"),
    ("航", "Hang"),
    ("鼎", "Ding"),
    ("正", "Zheng"),
    ("安", "An"),
    ("泰", "Tai"),
    ("卓", "Zhuo"),
    ("英", "Ying"),
    ("科", "Ke"),
    ("润", "Run"),
    ("德", "De"),
    ("景", "Jing"),
    ("晟", "Sheng"),
    ("弘", "Hong"),
]

ORG_KINDS: list[tuple[str, int]] = [
    ("企业", 70),
    ("行业协会", 10),
    ("研究机构", 8),
    ("事业单位", 8),
    ("民办非企业单位", 4),
]
# kind -> (USCC registration authority + organization type, suffix zh, suffix en, slug)
ORG_SUFFIX: dict[str, list[tuple[str, str, str, str]]] = {
    "企业": [("91", "教育科技有限公司", "Education Technology Co., Ltd.", "edu"),
             ("91", "信息技术有限公司", "Information Technology Co., Ltd.", "it"),
             ("91", "职业技能培训有限公司", "Vocational Skills Training Co., Ltd.", "training"),
             ("91", "科技股份有限公司", "Technology Co., Ltd.", "tech"),
             ("91", "服务有限责任公司", "Services Co., Ltd.", "services")],
    "行业协会": [("51", "职业教育协会", "Vocational Education Association", "assoc"),
                 ("51", "行业发展促进会", "Industry Development Association", "promo")],
    "研究机构": [("12", "职业技能研究院", "Vocational Skills Research Institute", "institute"),
                 ("52", "产业技术研究中心", "Industrial Technology Research Center", "research")],
    "事业单位": [("12", "职业技能鉴定中心", "Vocational Skills Testing Center", "testing"),
                 ("12", "教育考试中心", "Education and Examination Center", "exam")],
    "民办非企业单位": [("52", "职业培训中心", "Vocational Training Center", "center")],
}

COLLEGE_KINDS: list[tuple[str, int]] = [
    ("高职", 45),
    ("中职", 44),
    ("职业本科", 3),
    ("应用型本科", 6),
    ("开放大学", 2),
]
COLLEGE_SUFFIX: dict[str, list[tuple[str, str]]] = {
    "高职": [("职业技术学院", "Vocational and Technical College"), ("职业学院", "Vocational College")],
    "中职": [("中等专业学校", "Secondary Specialized School"),
             ("职业中等专业学校", "Secondary Vocational School"), ("技术学校", "Technical School")],
    "职业本科": [("职业技术大学", "Vocational University")],
    "应用型本科": [("学院", "University")],
    "开放大学": [("开放大学", "Open University")],
}
DESCRIPTORS: list[tuple[str, str]] = [
    ("交通", "Transportation"),
    ("工业", "Industrial"),
    ("信息", "Information"),
    ("商贸", "Commerce"),
    ("财经", "Finance and Economics"),
    ("建筑", "Architecture"),
    ("电子", "Electronics"),
    ("机电", "Mechanical and Electrical"),
    ("轻工", "Light Industry"),
    ("农业", "Agricultural"),
    ("卫生", "Health"),
    ("旅游", "Tourism"),
    ("艺术", "Arts"),
    ("科技", "Science and Technology"),
    ("城市", "Urban"),
    ("经济", "Economics"),
    ("化工", "Chemical Engineering"),
    ("铁道", "Railway"),
    ("航空", "Aviation"),
    ("水利", "Water Resources"),
    ("石油", "Petroleum"),
    ("幼儿师范", "Preschool Teachers"),
    ("医学", "Medical"),
    ("体育", "Sports"),
    ("外语", "Foreign Languages"),
    ("工程", "Engineering"),
    ("软件", "Software"),
    ("汽车", "Automotive"),
    ("海事", "Maritime"),
    ("电力", "Electric Power"),
    ("能源", "Energy"),
    ("环境", "Environmental"),
    ("食品", "Food"),
    ("药品", "Pharmaceutical"),
    ("林业", "Forestry"),
    ("民政", "Civil Affairs"),
    ("应用技术", "Applied Technology"),
    ("现代服务", "Modern Services"),
    ("商务", "Business"),
    ("国际商务", "International Business"),
    ("传媒", "Media"),
    ("司法", "Judicial"),
    ("邮电", "Posts and Telecommunications"),
    ("科技工程", "Technology and Engineering"),
    ("服装", "Fashion"),
    ("生物", "Biotechnology"),
]
CN_DIGITS = "零一二三四五六七八九"

REVOCATION_REASONS = [
    "考核舞弊",
    "证书信息错误",
    "重复发证",
    "持证人申请注销",
    "冒名顶替",
    "违规发证",
    "培训评价组织自查撤销",
    "考核成绩复核不合格",
]
# fmt: on

# --------------------------------------------------------------------------------------
# Code check characters


USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORGCODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def uscc_check_char(body: str) -> str:
    """GB 32100-2015 check character for the first 17 characters of a USCC."""
    assert len(body) == 17, f"expected 17 characters, got {len(body)}"
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def _orgcode_check_char(body: str) -> str:
    """GB 11714-1997 check character of an 8-digit organization code body."""
    total = sum(int(c) * w for c, w in zip(body, _ORGCODE_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "0" if c == 11 else "X" if c == 10 else str(c)


def _make_uscc(rng: Random, prefix: str, province: str) -> str:
    division = province + f"{rng.randint(1, 9):02d}" + f"{rng.randint(1, 20):02d}"
    org = "".join(str(rng.randint(0, 9)) for _ in range(8))
    body = prefix + division + org + _orgcode_check_char(org)
    return body + uscc_check_char(body)


# --------------------------------------------------------------------------------------
# Fast YAML emitter (block style, flow style for short records)

_SAFE_PLAIN = re.compile(
    r"[A-Za-z\u2000-\u2027\u2030-\ufefe\uff00-\uffef]"
    r"(?:[A-Za-z0-9 ._/()'\-\u2000-\u2027\u2030-\ufefe\uff00-\uffef]*"
    r"[A-Za-z0-9._/()'\-\u2000-\u2027\u2030-\ufefe\uff00-\uffef])?"
)
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
_FLOW_MAX = 110


def _scalar(v: Any) -> str:
    if isinstance(v, str):
        if _SAFE_PLAIN.fullmatch(v) and v.lower() not in _RESERVED and "'" not in v[:1]:
            return v
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if v is None:
        return "null"
    raise TypeError(f"cannot emit {type(v).__name__}")


def _is_scalar(v: Any) -> bool:
    return not isinstance(v, dict | list)


def _flow(v: Any) -> str | None:
    """Flow rendering of a short, shallow value, or None when block style is better."""
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            if isinstance(x, list):
                if not all(_is_scalar(e) for e in x):
                    return None
                parts.append(f"{_scalar(k)}: [{', '.join(_scalar(e) for e in x)}]")
            elif isinstance(x, dict):
                return None
            else:
                parts.append(f"{_scalar(k)}: {_scalar(x)}")
        s = "{" + ", ".join(parts) + "}"
    elif isinstance(v, list):
        if not all(_is_scalar(e) for e in v):
            return None
        s = "[" + ", ".join(_scalar(e) for e in v) + "]"
    else:
        return _scalar(v)
    return s if len(s) <= _FLOW_MAX else None


def _emit_map(d: dict[Any, Any], indent: str, out: list[str], first_prefix: str | None = None) -> None:
    prefix = indent if first_prefix is None else first_prefix
    for k, v in d.items():
        key = _scalar(k)
        if _is_scalar(v):
            out.append(f"{prefix}{key}: {_scalar(v)}\n")
        else:
            f = _flow(v)
            if f is not None and not (isinstance(v, list) and v and isinstance(v[0], dict)):
                out.append(f"{prefix}{key}: {f}\n")
            elif isinstance(v, dict):
                out.append(f"{prefix}{key}:\n")
                _emit_map(v, indent + "  ", out)
            else:
                out.append(f"{prefix}{key}:\n")
                _emit_list(v, indent + "  ", out)
        prefix = indent


def _emit_list(items: list[Any], indent: str, out: list[str]) -> None:
    for x in items:
        f = _flow(x)
        if f is not None:
            out.append(f"{indent}- {f}\n")
        elif isinstance(x, dict):
            _emit_map(x, indent + "  ", out, first_prefix=indent + "- ")
        else:
            out.append(f"{indent}-\n")
            _emit_list(x, indent + "  ", out)


def dump_yaml(doc: dict[str, Any], header: str = "") -> str:
    """Render a mapping as block-style YAML that ``yaml.safe_load`` reads back equal."""
    out = [header]
    _emit_map(doc, "", out)
    return "".join(out)


# --------------------------------------------------------------------------------------
# Generation


DAY = dt.timedelta(days=1)


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _split(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    base = minimum * len(weights)
    rest = max(0, total - base)
    s = sum(weights)
    raw = [rest * w / s for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


def _province_en(code: str) -> str:
    p = next(p for p in PROVINCES if p[0] == code)
    if len(p[4]) == 1:  # municipality
        return p[4][0][1]
    return {"neimenggu": "Inner Mongolia"}.get(p[2], p[2].title())


def _cn_number(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


@dataclass
class _Cert:
    code: str
    org: str
    field: int
    levels: list[int]
    batch: int
    active: dt.date
    # dates on which the certificate is usable for new pilots/sites: [start, end] pairs
    usable: list[tuple[dt.date, dt.date]] = dataclasses.field(default_factory=list)
    withdrawn: dt.date | None = None
    weight: float = 1.0


@dataclass
class _Org:
    id: str
    approved: dt.date
    batch: int
    certs: list[str] = dataclasses.field(default_factory=list)
    withdrawn: dt.date | None = None
    suspended: tuple[dt.date, dt.date] | None = None
    tag: str = ""


def _pick_date(rng: Random, usable: list[tuple[dt.date, dt.date]], lo: dt.date, span: int) -> dt.date | None:
    """A day >= lo within the usable windows, preferring the first ``span`` days."""
    for a, b in usable:
        start = max(a, lo)
        if start > b:
            continue
        hi = min(b, start + _days(span))
        return start + _days(rng.randint(0, (hi - start).days))
    return None


def _levels_subset(rng: Random, levels: list[int]) -> list[int]:
    if len(levels) == 1 or rng.random() < 0.55:
        return list(levels)
    k = rng.randint(1, len(levels))
    start = rng.randint(0, len(levels) - k)
    return levels[start : start + k]


EXAMPLE_LINE = re.compile(r"^[ ]*example: true\n", re.M)  # how dump_yaml writes the flag


class _Writer:
    def __init__(self, root: Path, example: bool = True) -> None:
        self.root = root
        self.example = example  # False: leave every entity's example flag off
        self.files = 0
        self.bytes = 0

    def write(self, rel: str, text: str) -> None:
        if not self.example:
            text = EXAMPLE_LINE.sub("", text)
        data = text.encode("utf-8")
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files += 1
        self.bytes += len(data)


def _gen_registry_yaml(w: _Writer) -> None:
    doc = {
        "name": {
            "zh": "1+X 职业技能等级证书公共注册库（合成测试数据）",
            "en": "1+X Vocational Skill Certificate Registry (synthetic test data)",
        },
        "site_url": SITE_URL,
        "verify_url": VERIFY_URL,
        "fields": [{"id": f[0], "zh": f[1], "en": f[2]} for f in FIELDS],
    }
    w.write("registry.yaml", dump_yaml(doc, REGISTRY_SCHEMA_LINE))


def _gen_orgs_and_certs(
    rng: Random, sc: Scale
) -> tuple[list[_Org], list[_Cert], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    n_orgs = sc.organizations
    n_certs = max(sc.certificates, n_orgs)
    # Certificate names: (field, topic, role) combinations, unique codes.
    combos: list[tuple[int, int, int]] = [
        (fi, ti, ri) for fi, f in enumerate(FIELDS) for ti in range(len(f[3])) for ri in range(len(f[4]))
    ]
    rng.shuffle(combos)
    assert n_certs <= len(combos), "not enough certificate names for this scale"
    combos = combos[:n_certs]
    # Batches: real-looking shares, at least one certificate per batch.
    per_batch = _split(n_certs, [b[2] for b in BATCHES], minimum=1 if n_certs >= 4 else 0)
    cert_batch: list[int] = []
    for (b, _, _), n in zip(BATCHES, per_batch, strict=True):
        cert_batch += [b] * n
    batch_day = {b: d for b, d, _ in BATCHES}

    # Owners: every organization owns at least one certificate, mostly in one field.
    owner = list(range(n_orgs)) + [rng.randrange(n_orgs) for _ in range(n_certs - n_orgs)]
    rng.shuffle(owner)
    # Sort certificates so that an organization's first certificate is its earliest batch.
    org_first_batch: dict[int, int] = {}
    org_last_batch: dict[int, int] = {}
    for ci, o in enumerate(owner):
        org_first_batch[o] = min(org_first_batch.get(o, 99), cert_batch[ci])
        org_last_batch[o] = max(org_last_batch.get(o, 0), cert_batch[ci])

    org_kinds = [k for k, _ in ORG_KINDS]
    org_kind_w = [wt for _, wt in ORG_KINDS]
    prov_codes = [p[0] for p in PROVINCES]
    prov_by_code = {p[0]: p for p in PROVINCES}

    orgs: list[_Org] = []
    org_docs: list[dict[str, Any]] = []
    used_names: set[str] = set()
    used_ids: set[str] = set()
    used_uscc: set[str] = set()
    for oi in range(n_orgs):
        kind = rng.choices(org_kinds, org_kind_w)[0]
        prov = "11" if rng.random() < 0.5 else rng.choice(prov_codes)
        pzh, pslug = prov_by_code[prov][1], prov_by_code[prov][2]
        while True:
            (b1, p1), (b2, p2) = rng.sample(BRAND, 2)
            usc_prefix, szh, sen, sslug = rng.choice(ORG_SUFFIX[kind])
            zh = f"{pzh}{b1}{b2}{szh}"
            if zh not in used_names:
                break
        used_names.add(zh)
        brand = p1 + p2.lower()
        en = f"{_province_en(prov)} {brand} {sen}"
        oid = f"{pslug}-{brand.lower()}-{sslug}"
        if oid in used_ids:
            n = 2
            while f"{oid}-{n}" in used_ids:
                n += 1
            oid = f"{oid}-{n}"
        used_ids.add(oid)
        first_batch = org_first_batch[oi]
        approved = batch_day[first_batch]
        latest = batch_day[org_last_batch[oi]]  # its last certificate becomes active then
        org = _Org(id=oid, approved=approved, batch=first_batch)
        org.tag = "".join(chr(65 + (oi // 26**k) % 26) for k in (2, 1, 0))
        status: list[dict[str, Any]] = [
            {
                "status": "approved",
                "since": approved,
                "batch": first_batch,
                "reason": f"第{_cn_number(first_batch)}批 1+X 证书试点",
            }
        ]
        r = rng.random()
        if r < 0.03:  # suspended for a while, then approved again
            s1 = latest + _days(rng.randint(300, 1000))
            s2 = s1 + _days(rng.randint(60, 240))
            org.suspended = (s1, s2)
            status.append({"status": "suspended", "since": s1, "reason": "监督检查整改"})
            status.append({"status": "approved", "since": s2, "reason": "整改完成"})
        elif r < 0.05:
            org.withdrawn = latest + _days(rng.randint(400, 1200))
            status.append({"status": "withdrawn", "since": org.withdrawn, "reason": "培训评价组织申请退出"})
        doc: dict[str, Any] = {"id": oid}
        if rng.random() < 0.9:
            while True:
                u = _make_uscc(rng, usc_prefix, prov)
                if u not in used_uscc:
                    break
            used_uscc.add(u)
            doc["uscc"] = u
        doc["name"] = {"zh": zh, "en": en}
        doc["kind"] = kind
        doc["province"] = prov
        if rng.random() < 0.7:
            doc["website"] = f"https://{oid}.example.org"
        if rng.random() < 0.2:
            doc["parent"] = {"zh": f"中国{rng.choice(FIELDS)[1]}协会"}
        doc["status"] = status
        doc["keys"] = _gen_keys(rng, org)
        doc["example"] = True
        doc["sources"] = ["合成数据（xcert.synth），非官方信息"]
        orgs.append(org)
        org_docs.append(doc)

    # Certificates and standards.
    certs: list[_Cert] = []
    cert_docs: list[dict[str, Any]] = []
    std_docs: list[dict[str, Any]] = []
    level_sets = [([1, 2, 3], 70), ([1, 2], 10), ([2, 3], 10), ([1], 4), ([3], 3), ([2], 3)]
    for ci, (fi, ti, ri) in enumerate(combos):
        fid, fzh, fen, topics, roles, areas, majors = FIELDS[fi]
        tslug, tzh, ten = topics[ti]
        rslug, rzh, ren = roles[ri]
        code = f"{tslug}-{rslug}"
        org = orgs[owner[ci]]
        batch = cert_batch[ci]
        active = max(batch_day[batch], org.approved)
        levels = rng.choices([s for s, _ in level_sets], [wt for _, wt in level_sets])[0]
        cert = _Cert(
            code=code,
            org=org.id,
            field=fi,
            levels=levels,
            batch=batch,
            active=active,
            weight=rng.paretovariate(1.3) * (3.0 if batch <= 2 else 1.0),
        )
        status = [{"status": "active", "since": active}]
        usable = [(active, LAST_DAY)]
        withdraw = org.withdrawn
        r = rng.random()
        if r < 0.05:
            s1 = active + _days(rng.randint(300, 1000))
            s2 = s1 + _days(rng.randint(30, 200))
            if (withdraw is None or s2 < withdraw) and s2 < LAST_DAY:
                status.append({"status": "suspended", "since": s1, "reason": "质量抽查整改"})
                status.append({"status": "active", "since": s2})
                usable = [(active, s1 - DAY), (s2, LAST_DAY)]
        elif r < 0.08 and withdraw is None:
            withdraw = active + _days(rng.randint(400, 1600))
            if withdraw >= LAST_DAY:
                withdraw = None
        if org.suspended is not None:  # no new pilots or sites while the owner is suspended
            s1, s2 = org.suspended
            usable = [
                part
                for a, b in usable
                for part in ((a, min(b, s1 - DAY)), (max(a, s2), b))
                if part[0] <= part[1]
            ]
        if withdraw is not None:
            status.append({"status": "withdrawn", "since": withdraw, "reason": "证书退出目录"})
            usable = [(a, min(b, withdraw - DAY)) for a, b in usable if a < withdraw]
            usable = [(a, b) for a, b in usable if a <= b]
            cert.withdrawn = withdraw
        cert.usable = usable
        std_id = f"{code}-{active.year}"
        doc = {
            "code": code,
            "name": {"zh": f"{tzh}{rzh}", "en": f"{ten} {ren}"},
            "organization": org.id,
            "field": fid,
            "levels": levels,
            "standard": std_id,
            "batch": batch,
            "status": status,
            "validity_years": rng.choice([3, 3, 3, 5, None]),
        }
        if doc["validity_years"] is None:
            del doc["validity_years"]
        if rng.random() < 0.8:
            doc["credits"] = {lv: 2 + 2 * lv + rng.randint(0, 2) for lv in levels}
        doc["majors"] = rng.sample(majors, rng.randint(1, min(3, len(majors))))
        doc["example"] = True
        certs.append(cert)
        org.certs.append(code)
        cert_docs.append(doc)

        level_names = {1: "初级", 2: "中级", 3: "高级"}
        std_levels = []
        for lv in levels:
            wa = rng.sample(areas, rng.randint(2, min(4, len(areas))))
            summary = {
                1: f"能够在指导下完成{tzh}{rzh}的基础工作，掌握{wa[0]}的基本方法",
                2: f"能够独立完成{tzh}{rzh}的常规工作，胜任{wa[0]}与{wa[1]}",
                3: f"能够统筹{tzh}{rzh}的复杂工作，指导团队并改进{wa[0]}质量",
            }[lv]
            std_levels.append({"level": lv, "summary": f"（{level_names[lv]}）{summary}", "work_areas": wa})
        std: dict[str, Any] = {
            "id": std_id,
            "title": {
                "zh": f"{tzh}{rzh}职业技能等级标准",
                "en": f"{ten} {ren} Vocational Skill Level Standard",
            },
            "version": "1.0" if rng.random() < 0.7 else "2.0",
            "organization": org.id,
            "certificate": code,
            "published": active,
            "levels": std_levels,
        }
        if rng.random() < 0.5:
            std["url"] = f"https://{org.id}.example.org/standards/{std_id}.pdf"
            std["sha256"] = hashlib.sha256(std_id.encode()).hexdigest()
        std["example"] = True
        std_docs.append(std)
    return orgs, certs, org_docs, cert_docs, std_docs


def _gen_keys(rng: Random, org: _Org) -> list[dict[str, Any]]:
    n = rng.choices([1, 2, 3], [50, 35, 15])[0]
    compromised = rng.random() < 0.04
    if compromised:
        n = max(n, 2)
    end = org.withdrawn or LAST_DAY
    starts = [org.approved]
    for _ in range(n - 1):
        nxt = starts[-1] + _days(rng.randint(400, 800))
        if nxt >= end:
            break
        starts.append(nxt)
    if compromised and len(starts) < 2:
        starts.append(starts[0] + min((end - starts[0]) // 2, _days(700)))
    bad = rng.randrange(len(starts) - 1) if compromised and len(starts) > 1 else -1
    keys = []
    for i, start in enumerate(starts):
        pub = bytes(SigningKey(rng.randbytes(32)).verify_key)
        key: dict[str, Any] = {
            "public_key": base64.urlsafe_b64encode(pub).rstrip(b"=").decode(),
            "not_before": start,
        }
        last = i == len(starts) - 1
        if last and org.withdrawn is None:
            if rng.random() < 0.8:
                key["sign_until"] = LAST_DAY + _days(rng.randint(180, 900))
            key["status"] = "active"
        elif last:  # organization withdrawn: its last key is retired on that day
            key["sign_until"] = org.withdrawn
            key["status"] = "retired"
            key["retired_on"] = org.withdrawn
            key["note"] = "培训评价组织退出，停止签发"
        else:
            key["sign_until"] = start + _days(3 * 365)
            if i == bad:
                key["status"] = "compromised"
                key["compromised_on"] = starts[i + 1] - DAY
                key["note"] = "私钥泄露，已由新密钥替换"
            else:
                key["status"] = "retired"
                key["retired_on"] = starts[i + 1] - DAY
                key["note"] = "定期轮换"
        keys.append(key)
    return keys


def _gen_colleges(rng: Random, sc: Scale, certs: list[_Cert], w: _Writer) -> tuple[int, int, int]:
    counts = _split(sc.colleges, [p[3] for p in PROVINCES], minimum=1)
    kinds = [k for k, _ in COLLEGE_KINDS]
    kind_w = [wt for _, wt in COLLEGE_KINDS]
    live = [c for c in certs if c.usable]
    cum: list[float] = []
    acc = 0.0
    for c in live:
        acc += c.weight
        cum.append(acc)
    max_pilots = max(1, round(2 * sc.pilots_per_college - 1))
    n_colleges = n_pilots = n_sites = 0
    for (pcode, _pzh, pslug, _wt, cities), n in zip(PROVINCES, counts, strict=True):
        colleges = []
        used_names: set[str] = set()
        used_codes: set[str] = set()
        numbered: dict[str, int] = {}
        for seq in range(1, n + 1):
            ci = rng.randrange(len(cities))
            city, cpy = cities[ci]
            short = city[:-1] if len(city) > 2 else city
            kind = rng.choices(kinds, kind_w)[0]
            for _ in range(20):
                dzh, den = rng.choice(DESCRIPTORS)
                szh, sen = rng.choice(COLLEGE_SUFFIX[kind])
                zh = f"{short}{dzh}{szh}"
                if kind == "开放大学":
                    zh, en = f"{short}开放大学", f"{cpy} Open University"
                else:
                    en = f"{cpy} {den} {sen}"
                if zh not in used_names:
                    break
            else:  # numbered secondary school: always unique
                kind = "中职"
                k = numbered.get(city, 0) + 1
                numbered[city] = k
                zh = f"{city}第{_cn_number(k)}职业高级中学"
                en = f"{cpy} No. {k} Vocational High School"
            used_names.add(zh)
            entry: dict[str, Any] = {"id": f"{pslug}-{seq:04d}"}
            if rng.random() < 0.92:
                while True:
                    code = f"41{pcode}{ci + 1:02d}{rng.randint(0, 9999):04d}"
                    if code not in used_codes:
                        break
                used_codes.add(code)
                entry["code"] = code
            entry["name"] = {"zh": zh, "en": en}
            entry["city"] = city
            entry["kind"] = kind
            k_p = min(len(live), rng.randint(1, max_pilots))
            chosen: list[_Cert] = []
            seen: set[str] = set()
            while len(chosen) < k_p:
                c = rng.choices(live, cum_weights=cum)[0]
                if c.code not in seen:
                    seen.add(c.code)
                    chosen.append(c)
            pilots = []
            sites = []
            for c in chosen:
                since = _pick_date(rng, c.usable, c.active + _days(30), 900)
                if since is None:
                    continue
                pilot: dict[str, Any] = {
                    "certificate": c.code,
                    "levels": _levels_subset(rng, c.levels),
                    "since": since,
                }
                if c.withdrawn is not None:
                    pilot["ended"] = c.withdrawn
                elif rng.random() < 0.04 and since + _days(200) < LAST_DAY:
                    pilot["ended"] = since + _days(rng.randint(200, max(200, (LAST_DAY - since).days)))
                pilots.append(pilot)
                if rng.random() >= sc.site_share:
                    continue
                ssince = _pick_date(rng, c.usable, since + _days(20), 500)
                if ssince is None or ("ended" in pilot and ssince >= pilot["ended"]):
                    continue
                site: dict[str, Any] = {
                    "certificate": c.code,
                    "levels": _levels_subset(rng, pilot["levels"]),
                    "since": ssince,
                }
                r = rng.random()
                if c.withdrawn is not None:
                    site["status"] = "closed"
                    site["ended"] = c.withdrawn
                elif "ended" in pilot or r < 0.05:
                    site["status"] = "closed"
                    site["ended"] = pilot.get("ended") or ssince + _days(rng.randint(90, 700))
                    if site["ended"] > LAST_DAY:
                        site["status"] = "active"
                        del site["ended"]
                elif r < 0.09:
                    site["status"] = "suspended"
                else:
                    site["status"] = "active"
                sites.append(site)
            entry["pilots"] = pilots
            entry["sites"] = sites
            entry["example"] = True
            colleges.append(entry)
            n_pilots += len(pilots)
            n_sites += len(sites)
        n_colleges += len(colleges)
        doc = {"province": pcode, "colleges": colleges}
        w.write(f"colleges/{pcode}.yaml", dump_yaml(doc, SCHEMA_LINE.format(kind="colleges")))
    return n_colleges, n_pilots, n_sites


def _gen_revocations(rng: Random, sc: Scale, orgs: list[_Org], certs: list[_Cert], w: _Writer) -> int:
    by_code = {c.code: c for c in certs}
    weights = [len(o.certs) * rng.uniform(0.2, 2.0) for o in orgs]
    counts = _split(sc.revocations, weights)
    total = 0
    for org, n in zip(orgs, counts, strict=True):
        if n == 0:
            continue
        end = LAST_DAY
        lo = org.approved + _days(60)
        if lo >= end:
            continue
        span = (end - lo).days
        rows = []
        for _ in range(n):
            day = lo + _days(rng.randint(0, span))
            row: dict[str, Any] = {"date": day}
            first_year = org.approved.year
            if rng.random() < 0.5:
                c = by_code[rng.choice(org.certs)]
                if c.active + _days(30) <= day:
                    row["certificate"] = c.code
                    first_year = c.active.year
            row["reason"] = rng.choice(REVOCATION_REASONS)
            row["_year"] = rng.randint(first_year, day.year)  # year in the serial: issued
            rows.append(row)
        rows.sort(key=lambda r: (r["date"], r["_year"]))
        seq = 0
        out = []
        for row in rows:
            seq += rng.randint(1, 40)
            year = row.pop("_year")
            out.append({"serial": f"{org.tag}{year}{seq:07d}", **row})
        total += len(out)
        doc = {"organization": org.id, "revoked": out}
        w.write(f"revocations/{org.id}.yaml", dump_yaml(doc, SCHEMA_LINE.format(kind="revocations")))
    return total


def _gen_notices(rng: Random, sc: Scale, orgs: list[_Org], certs: list[_Cert], w: _Writer) -> int:
    notices: list[tuple[dt.date, str, dict[str, Any], str]] = []
    batch_day = {b: d for b, d, _ in BATCHES}
    for b, day, _ in BATCHES:
        if len(notices) >= sc.notices - 1:
            break
        bc = [c for c in certs if c.batch == b]
        if not bc:
            continue
        related = {"certificates": [c.code for c in bc[:8]], "organizations": sorted({c.org for c in bc[:8]})}
        meta = {
            "date": day,
            "title": {
                "zh": f"第{_cn_number(b)}批职业技能等级证书名单公布（示例）",
                "en": f"Batch {b} certificates announced (example)",
            },
            "kind": "batch",
            "related": related,
            "sources": ["合成数据（xcert.synth），非官方信息"],
            "example": True,
        }
        body = (
            f"这是合成的示例公告：第{_cn_number(b)}批共 {len(bc)} 个职业技能等级证书"
            f"纳入试点。\n\n本文件由 `xcert.synth` 生成，仅用于规模测试。\n"
        )
        notices.append((day, f"batch-{b}", meta, body))
    sus = [o for o in orgs if o.withdrawn is not None]
    day = max(batch_day.values()) + _days(rng.randint(200, 600))
    meta = {
        "date": day,
        "title": {
            "zh": "培训评价组织监督检查结果通报（示例）",
            "en": "Supervision results for training evaluation organizations (example)",
        },
        "kind": "supervision",
        "sources": ["合成数据（xcert.synth），非官方信息"],
        "example": True,
    }
    if sus:
        meta["related"] = {"organizations": [o.id for o in sus[:5]]}
    notices.append((day, "supervision", meta, "这是合成的示例通报，列出的培训评价组织均为虚构。\n"))
    for day, slug, meta, body in notices:
        text = "---\n" + SCHEMA_LINE.format(kind="notice") + dump_yaml(meta) + "---\n\n" + body
        w.write(f"notices/{day.isoformat()}-{slug}.md", text)
    return len(notices)


def _write_all(root: Path, scale: str, seed: int, example: bool = True) -> dict[str, int]:
    sc = SCALES[scale]
    rng = Random(seed)
    w = _Writer(root, example)
    for sub in ("organizations", "certificates", "standards", "colleges", "revocations", "notices"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    _gen_registry_yaml(w)
    orgs, certs, org_docs, cert_docs, std_docs = _gen_orgs_and_certs(rng, sc)
    n_keys = 0
    for doc in org_docs:
        n_keys += len(doc["keys"])
        w.write(f"organizations/{doc['id']}.yaml", dump_yaml(doc, SCHEMA_LINE.format(kind="organization")))
    for doc in cert_docs:
        w.write(f"certificates/{doc['code']}.yaml", dump_yaml(doc, SCHEMA_LINE.format(kind="certificate")))
    for doc in std_docs:
        w.write(f"standards/{doc['id']}.yaml", dump_yaml(doc, SCHEMA_LINE.format(kind="standard")))
    n_colleges, n_pilots, n_sites = _gen_colleges(rng, sc, certs, w)
    n_rev = _gen_revocations(rng, sc, orgs, certs, w)
    n_notices = _gen_notices(rng, sc, orgs, certs, w)
    return {
        "organizations": len(org_docs),
        "keys": n_keys,
        "certificates": len(cert_docs),
        "standards": len(std_docs),
        "provinces": len(PROVINCES),
        "colleges": n_colleges,
        "pilots": n_pilots,
        "sites": n_sites,
        "revocations": n_rev,
        "notices": n_notices,
        "files": w.files,
        "bytes": w.bytes,
    }


def generate(
    out_dir: Path, scale: str, seed: int = DEFAULT_SEED, *, force: bool = False, example: bool = True
) -> dict[str, int]:
    """Write a synthetic registry into ``out_dir`` and return its counts.

    ``example=False`` leaves the ``example`` flag off every entity (nothing else changes).

    ``out_dir`` must not exist or be empty; with ``force`` an existing registry (a
    directory holding ``registry.yaml``) is replaced. The registry is written into a
    temporary sibling directory and renamed into place at the end, so a failure never
    leaves a half-written registry behind.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}, expected one of {', '.join(SCALES)}")
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"{out_dir}: exists and is not a directory")
        if any(out_dir.iterdir()):
            if not force:
                raise FileExistsError(
                    f"{out_dir}: directory is not empty (use --force to replace a registry)"
                )
            if not (out_dir / "registry.yaml").is_file():
                raise FileExistsError(
                    f"{out_dir}: not empty and holds no registry.yaml; refusing to replace it"
                )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.synth-", dir=out_dir.parent))
    try:
        counts = _write_all(tmp, scale, seed, example)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xcert.synth",
        description="Write a synthetic 1+X registry (every entity marked example: true) "
        "for scale tests. Never copy its output into registry/.",
    )
    parser.add_argument(
        "--scale",
        choices=list(SCALES),
        default="small",
        help="national (~450 certificates, ~10,000 colleges, ~50,000 "
        "revocations), quarter (a quarter of each) or small (tests)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output directory; must not exist or be empty"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"random seed; same seed, same bytes (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing registry (a directory with registry.yaml)"
    )
    parser.add_argument(
        "--no-example",
        dest="example",
        action="store_false",
        help="leave the example flag off, so the site counts every entity (statistics, charts); "
        "the registry's name still says it is synthetic",
    )
    args = parser.parse_args(None if argv is None else list(argv))
    t0 = time.perf_counter()
    try:
        counts = generate(args.out, args.scale, args.seed, force=args.force, example=args.example)
    except FileExistsError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    counts_out = {
        "scale": args.scale,
        "seed": args.seed,
        **counts,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    print(json.dumps(counts_out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
