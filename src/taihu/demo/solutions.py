# ruff: noqa: RUF001 - Chinese demo prose takes full-width punctuation
"""Demo data of the solution pool: providers, ten solutions with cases, a guide, needs.

The providers are named generically after the kinds of partner the district works with (a
national industrial-internet institute, a telecoms research institute, a cloud platform
company) plus the district's own service company, an enterprise of the registry; every figure
in the cases is invented for the demo.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from taihu.accounts import Principal, Role
from taihu.core import Database, FrozenClock
from taihu.demo.programmes import one_page_pdf
from taihu.identifiers import DocumentUpload
from taihu.solutions import (
    CaseSpec,
    GuideService,
    GuideSpec,
    NeedService,
    PoolService,
    ProviderSpec,
    SolutionSpec,
    SubjectDocuments,
)

__all__ = ["seed_solutions"]

_PROVIDERS = (
    ProviderSpec("国家工业互联网研究机构（示范）", "research", "National IIoT institute (demo)",
                 description="工业互联网标识解析、安全与平台评测。"),
    ProviderSpec("信息通信研究机构（示范）", "research", "ICT research institute (demo)",
                 description="5G 全连接工厂、企业上云评估。"),
    ProviderSpec("云平台合作伙伴（示范）", "platform", "Cloud platform partner (demo)",
                 description="工业云平台、设备接入与数据分析。"),
    ProviderSpec("太湖示范工业互联网服务有限公司", "service", "Taihu demo IIoT services",
                 description="本地实施与运维服务。"),
)  # fmt: skip

# provider index, spec, cases (enterprise, what changed, results, year)
_SOLUTIONS: tuple[tuple[int, SolutionSpec, tuple[tuple[str, str, str, int], ...]], ...] = (
    (2, SolutionSpec("拉丝塔设备上云", "Drawing towers to the cloud",
                     "拉丝塔、着色机等关键设备数据采集上云，实时看板与报警。",
                     ("device_cloud", "mes"), ("3832", "3833"), ("fibre.fibre",), 20, 80),
     (("太湖示范光纤科技有限公司", "40 台拉丝塔接入平台", "设备综合效率提升 9%", 2025),)),
    (2, SolutionSpec("纺织能耗管理平台", "Energy management for textile mills",
                     "分项计量、峰谷分析和能效对标。", ("energy",), ("1751", "1752"),
                     ("poly.weaving", "poly.dyeing"), 15, 60),
     (("盛泽示范丝绸织造有限公司", "空压站与织机分项计量", "单位产品能耗下降 8%", 2025),
      ("黎里示范印染有限公司", "定型机热能回收监测", "蒸汽用量下降 12%", 2024))),
    (0, SolutionSpec("光缆产品标识解析追溯", "Identifier-based traceability for cable",
                     "基于二级节点的盘具与光缆一物一码，质量追溯到批次。",
                     ("identifier_apps", "quality_trace"), ("3833",), ("fibre.cable",), 10, 40),
     (("松陵示范光缆有限公司", "12 万盘光缆赋码", "客诉定位时间从 3 天降到 2 小时", 2025),)),
    (0, SolutionSpec("电梯全生命周期标识应用", "Identifiers across an elevator's life",
                     "整梯与部件标识，维保记录上链。", ("identifier_apps",), ("3435",),
                     ("lift.complete", "lift.service"), 20, 100),
     (("汾湖示范电梯有限公司", "整梯与曳引机赋码", "维保响应提速 30%", 2024),)),
    (1, SolutionSpec("5G 全连接工厂评估与改造", "5G fully connected factory",
                     "网络规划、现场评估与改造路线。", ("device_cloud", "digital_twin"),
                     ("3974", "3973"), ("disp.panel", "ic.packaging"), 50, 300),
     (("吴江示范集成电路封测有限公司", "AGV 与检测设备 5G 专网", "换线时间缩短 25%", 2025),)),
    (1, SolutionSpec("企业上云评估与星级申报辅导", "Cloud adoption and star-rating coaching",
                     "上云深度评估，对照星级上云评定标准辅导申报。", ("enterprise_cloud",),
                     (), (), 2, 10),
     (("震泽示范纺织科技有限公司", "业务系统迁移上云", "获评三星级上云企业", 2024),)),
    (2, SolutionSpec("曳引机预测性维护", "Predictive maintenance for traction machines",
                     "振动与电流特征建模，提前预警轴承故障。", ("predictive",), ("3812", "3435"),
                     ("lift.machine",), 30, 120),
     (("同里示范曳引机有限公司", "试验台 18 个测点接入", "非计划停机下降 35%", 2025),)),
    (3, SolutionSpec("产业链供需协同平台", "Supply-chain collaboration platform",
                     "链主与配套企业订单、库存、交期协同。", ("supply_chain",), ("3832", "3833"),
                     ("fibre.preform", "fibre.sheath"), 30, 150),
     (("七都示范线缆材料有限公司", "与 6 家光缆企业共享交期", "库存周转天数减少 11 天", 2025),)),
    (3, SolutionSpec("PCB 质量追溯与 AOI 数据分析", "PCB quality traceability with AOI data",
                     "AOI 检测数据汇聚，缺陷追溯到工序与批次。", ("quality_trace", "mes"),
                     ("3982",), ("comp.pcb",), 20, 90),
     (("八坼示范电路科技有限公司", "6 条产线 AOI 联网", "一次合格率提高 2.1 个百分点", 2024),)),
    (3, SolutionSpec("中小企业设备快速上云包", "Quick device-to-cloud kit for SMEs",
                     "边缘网关 + 云端看板，一周交付。", ("device_cloud", "energy"),
                     ("3399", "3311", "3982"), (), 3, 15),
     (("横扇示范精密机械有限公司", "30 台数控机床接入", "设备利用率可视化，加班减少 20%", 2025),)),
)  # fmt: skip

_GUIDE = """光纤光缆企业数字化转型可按“设备上云 → 质量追溯 → 供应链协同”三步推进：

1. 先把拉丝塔、成缆机等关键设备接入平台，掌握设备效率与能耗；
2. 用工业互联网标识为光缆盘具赋码，质量问题追溯到批次；
3. 与上游预制棒、护套料企业共享交期与库存，补齐本地配套短板。
"""


async def seed_solutions(
    db: Database, enterprise_ids: list[int], provider_code: str, end: datetime
) -> None:
    """Stock the pool, publish a guide, and post needs in different states."""
    clock = FrozenClock(end - timedelta(days=10))
    system = Principal.system("demo")
    bureau = Principal("analyst", Role.BUREAU)
    async with db.session() as session:
        pool = PoolService(session, clock)
        providers = []
        for index, spec in enumerate(_PROVIDERS):
            code = provider_code if index == 3 else None
            linked = replace(spec, credit_code=code)
            providers.append(await pool.create_provider(system, linked))
        solutions = []
        for provider, solution, cases in _SOLUTIONS:
            row = await pool.create_solution(system, providers[provider].id, solution)
            solutions.append(row)
            for name, change, results, year in cases:
                await pool.add_case(system, row.id, CaseSpec(name, change, results, year))
            clock.advance(timedelta(hours=3))
        # The district's own company shows its qualification; its first case, the report.
        documents = SubjectDocuments(session, clock)
        certificate = one_page_pdf("Qualification (demo)")
        await documents.add(system, "provider", providers[3].id, [
            ("certificate", DocumentUpload("qualification.pdf", certificate))
        ])  # fmt: skip
        first_case = (await pool.cases([solutions[0].id]))[solutions[0].id][0]
        await documents.add(system, "case", first_case.id, [
            ("case_report", DocumentUpload("case-report.pdf", one_page_pdf("Case report (demo)")))
        ])  # fmt: skip
        guide = GuideSpec(
            "3833", "光纤光缆行业工业互联网应用指南", "IIoT application guide for optical cable",
            _GUIDE, (solutions[0].id, solutions[2].id, solutions[7].id), published=True,
        )  # fmt: skip
        await GuideService(session, clock).save(bureau, guide)
        needs = NeedService(session, clock)
        first = Principal("factory", Role.ENTERPRISE, enterprise_ids=frozenset(enterprise_ids[:1]))
        await needs.post(first, enterprise_ids[0], "拉丝车间能耗监测", "希望按班组统计电耗。",
                         ("energy",))  # fmt: skip
        lift = Principal("factory", Role.ENTERPRISE, enterprise_ids=frozenset({enterprise_ids[7]}))
        clock.advance(timedelta(days=1))
        need = await needs.post(lift, enterprise_ids[7], "电梯产品赋码与维保追溯", "",
                                ("identifier_apps",))  # fmt: skip
        clock.advance(timedelta(days=1))
        await needs.act(bureau, need.id, "match", "推荐标识解析应用方案",
                        solution_id=solutions[3].id)  # fmt: skip
        clock.advance(timedelta(days=1))
        await needs.act(lift, need.id, "start", "已与服务商签约")
        cable = Principal("cable", Role.ENTERPRISE, enterprise_ids=frozenset({enterprise_ids[1]}))
        done = await needs.post(cable, enterprise_ids[1], "光缆质量追溯", "", ("quality_trace",))
        await needs.act(bureau, done.id, "match", "", solution_id=solutions[2].id)
        clock.advance(timedelta(days=2))
        await needs.act(bureau, done.id, "close", "追溯系统已上线", outcome="resolved")
