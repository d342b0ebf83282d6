//! Renders every page headlessly with Slint's software renderer and drives the UI the way a
//! finger would (through accessible labels), in its own process.
//!
//! `UPDATE_SCREENS=1 cargo test -p kiosk-ui --test render` also writes the renders to
//! `docs/screens/*.png`. Chinese comes from the embedded font; no font needs installing.

mod common;

use std::time::Duration;

use common::Screen;
use kiosk_ui::{
    BoardRow, BoardState, CheckView, FieldErrorView, FieldKindView, FieldView, FormSection,
    FormView, GuideView, HandoverRow, HandoverView, HistoryLine, HistoryView, InfoView,
    MessageKind, NoticeView, PersonRow, Picture, ReceiptView, ScanView, ServiceTile, StaffRole,
    StatusView, UiEvent,
};

// ---- sample data -------------------------------------------------------------------------

fn services() -> Vec<ServiceTile> {
    vec![
        ServiceTile {
            id: "birth-permit".into(),
            title_zh: "生育登记".into(),
            title_en: "Birth registration".into(),
            summary_zh: "生育服务证。带夫妻双方身份证、户口簿、结婚证。".into(),
            summary_en: "Birth permit. Bring both ID cards, household registers and the marriage certificate.".into(),
        },
        ServiceTile {
            id: "elderly-card".into(),
            title_zh: "老年人优待证".into(),
            title_en: "Elderly card".into(),
            summary_zh: "年满 60 周岁。带身份证、户口簿、一寸照片。".into(),
            summary_en: "Age 60 or over. Bring the ID card, household register and a 1-inch photo.".into(),
        },
    ]
}

fn status(link_up: bool) -> StatusView {
    StatusView {
        station_zh: "勐腊县曼庄村为民服务站".into(),
        station_en: "Manzhuang Village Service Station".into(),
        link_up,
        waiting: 2,
        oldest_waiting_secs: Some(3 * 3600 + 600),
        // Online, the upload is under way.
        sending_percent: link_up.then_some(45),
        last_contact_zh: "今天 09:12".into(),
        last_contact_en: "today 09:12".into(),
        demo: true,
        faults: Vec::new(),
        staff_notes: Vec::new(),
    }
}

fn board() -> Vec<BoardRow> {
    let row =
        |n: u32, birth: bool, name: &str, state, zh: &str, en: &str, updated: &str| BoardRow {
            tracking_number: format!("MZ-240611-{n:04}"),
            service_zh: if birth {
                "生育登记"
            } else {
                "老年人优待证"
            }
            .into(),
            service_en: if birth {
                "Birth registration"
            } else {
                "Elderly card"
            }
            .into(),
            masked_name: name.into(),
            state,
            state_zh: zh.into(),
            state_en: en.into(),
            updated_zh: updated.into(),
            updated_en: updated
                .replace("今天", "today")
                .replace("昨天", "yesterday")
                .replace("6月", "06-")
                .replace('日', ""),
        };
    vec![
        row(
            8,
            true,
            "岩*香",
            BoardState::Waiting,
            "等待发送",
            "Waiting to send",
            "今天 10:42",
        ),
        row(
            7,
            false,
            "玉*",
            BoardState::Sending,
            "正在发送",
            "Sending",
            "今天 10:15",
        ),
        row(
            6,
            true,
            "李*芳",
            BoardState::Delivered,
            "县里已收到",
            "Received by county",
            "昨天 16:30",
        ),
        row(
            5,
            false,
            "波*",
            BoardState::Ready,
            "可以领取",
            "Ready for pick-up",
            "6月9日",
        ),
        row(
            4,
            true,
            "刀*英",
            BoardState::Decided,
            "已批准",
            "Approved",
            "6月8日",
        ),
        row(
            3,
            true,
            "玉*罕",
            BoardState::Rejected,
            "未通过",
            "Rejected",
            "6月8日",
        ),
        row(
            2,
            false,
            "岩*",
            BoardState::HandedOver,
            "已领取",
            "Handed over",
            "6月7日",
        ),
        row(
            1,
            true,
            "刀*",
            BoardState::Problem,
            "需要处理",
            "Needs attention",
            "6月6日",
        ),
    ]
}

fn field(id: &str, zh: &str, en: &str, kind: FieldKindView, required: bool) -> FieldView {
    FieldView {
        id: id.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        help_zh: String::new(),
        help_en: String::new(),
        kind,
        required,
        value: String::new(),
    }
}

fn helped(mut f: FieldView, zh: &str, en: &str) -> FieldView {
    f.help_zh = zh.into();
    f.help_en = en.into();
    f
}

fn parent(who: &str, zh: &str, en: &str) -> FormSection {
    let gender = FieldKindView::Choice(vec![
        ("1".into(), "男 Male".into()),
        ("2".into(), "女 Female".into()),
    ]);
    let ethnicity = FieldKindView::Choice(
        [
            ("01", "汉族 Han"),
            ("05", "彝族 Yi"),
            ("08", "苗族 Miao"),
            ("16", "哈尼族 Hani"),
            ("17", "傣族 Dai"),
            ("21", "佤族 Va"),
            ("29", "拉祜族 Lahu"),
            ("42", "基诺族 Jino"),
        ]
        .iter()
        .map(|(c, l)| (c.to_string(), l.to_string()))
        .collect(),
    );
    let id = |name: &str| format!("{who}.{name}");
    FormSection {
        label_zh: zh.into(),
        label_en: en.into(),
        optional: false,
        fields: vec![
            field(&id("name"), "姓名", "Name", FieldKindView::Text, true),
            field(&id("gender"), "性别", "Gender", gender, true),
            field(&id("ethnicity"), "民族", "Ethnicity", ethnicity, true),
            helped(
                field(
                    &id("birth-date"),
                    "出生日期",
                    "Date of birth",
                    FieldKindView::Date,
                    true,
                ),
                "按身份证填写",
                "As on the ID card",
            ),
            field(
                &id("id-number"),
                "身份证号",
                "ID number",
                FieldKindView::IdNumber,
                true,
            ),
            field(
                &id("address"),
                "户籍地址",
                "Household address",
                FieldKindView::Text,
                true,
            ),
            field(
                &id("phone"),
                "手机号码",
                "Mobile phone",
                FieldKindView::Phone,
                true,
            ),
        ],
    }
}

fn birth_permit() -> FormView {
    let scan = |id: &str, zh: &str, en: &str| ScanView {
        id: id.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        required: true,
        captured: false,
    };
    FormView {
        service_id: "birth-permit".into(),
        title_zh: "生育登记".into(),
        title_en: "Birth registration (birth permit)".into(),
        sections: vec![
            parent("mother", "母亲", "Mother"),
            parent("father", "父亲", "Father"),
            FormSection {
                label_zh: "婚姻与子女".into(),
                label_en: "Marriage and children".into(),
                optional: false,
                fields: vec![
                    field(
                        "marriage.date",
                        "结婚登记日期",
                        "Marriage registration date",
                        FieldKindView::Date,
                        true,
                    ),
                    field(
                        "marriage.certificate",
                        "结婚证字号",
                        "Marriage certificate no.",
                        FieldKindView::Text,
                        true,
                    ),
                    field(
                        "children.living",
                        "现有子女数",
                        "Living children",
                        FieldKindView::Number,
                        true,
                    ),
                    helped(
                        field(
                            "children.order",
                            "本次为第几孩",
                            "Order of this child",
                            FieldKindView::Number,
                            true,
                        ),
                        "例如第一个孩子填 1",
                        "1 for the first child",
                    ),
                ],
            },
            FormSection {
                label_zh: "其他".into(),
                label_en: "Other".into(),
                optional: true,
                fields: vec![
                    field(
                        "due-date",
                        "预产期",
                        "Expected due date",
                        FieldKindView::Date,
                        false,
                    ),
                    helped(
                        field(
                            "sms",
                            "短信通知号码",
                            "Phone for SMS",
                            FieldKindView::Phone,
                            false,
                        ),
                        "批准后发短信到这个号码",
                        "The decision is sent to this number",
                    ),
                ],
            },
        ],
        scans: vec![
            scan("mother-id", "母亲身份证", "Mother's ID card"),
            scan("father-id", "父亲身份证", "Father's ID card"),
            scan("mother-hukou", "母亲户口簿", "Mother's household register"),
            scan("father-hukou", "父亲户口簿", "Father's household register"),
            scan("marriage", "结婚证", "Marriage certificate"),
        ],
    }
}

fn history() -> HistoryView {
    let line = |zh_when: &str, en_when: &str, zh: &str, en: &str| HistoryLine {
        when_zh: zh_when.into(),
        when_en: en_when.into(),
        text_zh: zh.into(),
        text_en: en.into(),
    };
    HistoryView {
        tracking_number: "MZ-240611-0003".into(),
        service_zh: "生育登记".into(),
        service_en: "Birth registration".into(),
        masked_name: "刀*英".into(),
        state: BoardState::Rejected,
        state_zh: "未批准".into(),
        state_en: "Rejected".into(),
        reason: Some(("结婚证字号与登记不符".into(), "结婚证字号与登记不符".into())),
        lines: vec![
            line(
                "6月7日 15:02",
                "06-07 15:02",
                "在服务站保存",
                "Saved at the station",
            ),
            line(
                "6月7日 15:03",
                "06-07 15:03",
                "开始发送到县里",
                "Sending to the county started",
            ),
            line(
                "6月7日 15:04",
                "06-07 15:04",
                "县里已收到全部材料",
                "The county has everything",
            ),
            line(
                "6月8日 09:30",
                "06-08 09:30",
                "县里未批准：结婚证字号与登记不符",
                "Rejected by the county: 结婚证字号与登记不符",
            ),
        ],
    }
}

/// A scanned ID card, small: a blue card with a photo box and lines of print.
fn card_picture() -> Picture {
    let (width, height) = (320u32, 202u32);
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let photo = (220..300).contains(&x) && (40..150).contains(&y);
            let print = (20..190).contains(&x) && y % 28 < 6 && (30..180).contains(&y);
            let px = if photo {
                [150, 160, 175]
            } else if print {
                [40, 40, 60]
            } else {
                [205, 225, 240]
            };
            rgb.extend_from_slice(&px);
        }
    }
    Picture { width, height, rgb }
}

/// A scanned page, small: white with lines of print and a red seal.
fn page_picture() -> Picture {
    let (width, height) = (226u32, 320u32);
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = (x as i32 - 160, y as i32 - 250);
            let seal = (dx * dx + dy * dy) < 30 * 30 && (dx * dx + dy * dy) > 25 * 25;
            let print = (20..206).contains(&x) && y % 18 < 4 && (30..220).contains(&y);
            let px = if seal {
                [200, 40, 40]
            } else if print {
                [50, 50, 50]
            } else {
                [250, 250, 245]
            };
            rgb.extend_from_slice(&px);
        }
    }
    Picture { width, height, rgb }
}

fn error(id: &str, zh: &str, en: &str) -> FieldErrorView {
    FieldErrorView {
        field_id: id.into(),
        message_zh: zh.into(),
        message_en: en.into(),
    }
}

// ---- the test ----------------------------------------------------------------------------

/// One test: a Slint platform is installed once per process.
#[test]
fn pages_render_and_respond() {
    let screen = Screen::new();

    // The villager's idle screen first, without sample data.
    screen.render();
    assert!(screen.shows("请刷身份证"));
    assert!(screen.shows("现在没有通知"));
    assert!(
        !screen.shows("本周六上午停电"),
        "preview sample data is cleared"
    );
    assert!(
        !screen.shows("已批准，请到服务站领取"),
        "no personal data without a card"
    );

    // Staff go to the counter board: empty, not sample data.
    screen.tap("工作人员");
    assert_eq!(screen.take_events(), vec![UiEvent::ShowBoard]);
    let empty = screen.render();
    assert!(screen.shows("还没有申请"));
    assert!(
        !screen.shows("MZ-240611-0007"),
        "preview sample data is cleared"
    );
    assert!(screen.shows("离线"), "no status yet: offline");

    // Data arrives from a worker thread, as it does from the firmware's tokio tasks.
    let handle = screen.handle();
    std::thread::spawn(move || {
        handle.set_services(services());
        handle.set_status(status(false));
        handle.set_board(board());
    })
    .join()
    .expect("the worker thread ran");
    assert!(
        !screen.shows("勐腊县曼庄村为民服务站"),
        "nothing changes before the loop runs"
    );
    let board_frame = screen.render_both("board");
    // The language button switches every string, those from Rust included, and back.
    screen.tap("English");
    assert!(screen.shows("Recent applications"));
    assert!(screen.shows("2 waiting to send, oldest 3 h"));
    assert!(screen.shows("Manzhuang Village Service Station"));
    assert!(screen.shows("Waiting to send"));
    assert!(!screen.shows("最近的申请"));
    screen.tap("中文");
    assert!(screen.shows("最近的申请"));
    board_frame.assert_rich("board");
    assert!(
        board_frame.region_differs(&empty, 0, 92),
        "the status bar changed"
    );
    assert!(screen.shows("勐腊县曼庄村为民服务站"));
    assert!(screen.shows("待发送 2 份（最早 3 小时前）"));
    assert!(screen.shows("上次联系 今天 09:12"));
    assert!(screen.shows("申请已保存，联网后自动发送"));
    assert!(screen.shows("MZ-240611-0008"));
    assert!(screen.shows("等待发送"), "state chips are labelled");
    assert!(!screen.shows("还没有申请"));

    // The board counts applications by state; a filter shows only those.
    for chip in [
        "全部 8",
        "待发送 2",
        "已送达 1",
        "已批准 1",
        "未批准 1",
        "可领取 1",
        "已领取 1",
        "需处理 1",
    ] {
        assert!(screen.shows(chip), "{chip}");
    }
    screen.tap("待发送 2");
    assert!(screen.shows("MZ-240611-0008") && screen.shows("MZ-240611-0007"));
    assert!(!screen.shows("MZ-240611-0005"), "only those waiting");
    screen.render_both("board-filter");
    // New data keeps the filter and recounts.
    screen.handle().set_board(board()[1..].to_vec());
    screen.pump();
    assert!(screen.shows("待发送 1") && screen.shows("全部 7"));
    assert!(!screen.shows("MZ-240611-0008"));
    screen.handle().set_board(board());
    screen.pump();
    screen.tap("全部 8");
    assert!(screen.shows("MZ-240611-0005"));
    assert!(
        screen.take_events().is_empty(),
        "filtering is the screen's own"
    );

    // A row opens the application's story.
    screen.tap("未批准 1");
    screen.tap("打开 MZ-240611-0003");
    assert_eq!(
        screen.take_events(),
        vec![UiEvent::OpenApplication {
            tracking_number: "MZ-240611-0003".into()
        }]
    );
    screen.handle().show_history(history());
    screen.pump();
    assert!(screen.shows("原因：结婚证字号与登记不符"));
    assert!(screen.shows("县里未批准：结婚证字号与登记不符"));
    screen.render_both("board-history");
    screen.tap("关闭");
    assert!(!screen.shows("原因：结婚证字号与登记不符"));
    screen.tap("全部 8");

    // The link comes back.
    screen.handle().set_status(status(true));
    screen.render();
    assert!(screen.shows("已连接"));
    assert!(
        screen.shows("正在发送，已完成 45%"),
        "the upload's progress"
    );
    assert!(!screen.shows("申请已保存，联网后自动发送"));

    // A device goes missing: a strip under the bar names it and says what to do, in the
    // current language, until it is back.
    let before = screen.render();
    screen.handle().set_status(StatusView {
        faults: vec![
            (
                "读卡器没有连接：请检查读卡器的 USB 线，拔下再插上".into(),
                "Card reader not connected: check its USB cable, unplug it and plug it back"
                    .into(),
            ),
            (
                "回执打印机缺纸：请装纸、关好纸仓盖，或关掉再打开打印机".into(),
                "Receipt printer out of paper: load paper, close the cover, or switch it off and on"
                    .into(),
            ),
        ],
        ..status(true)
    });
    let faulty = screen.render_both("board-faults");
    assert!(screen.shows("读卡器没有连接：请检查读卡器的 USB 线，拔下再插上"));
    assert!(screen.shows("回执打印机缺纸：请装纸、关好纸仓盖，或关掉再打开打印机"));
    assert!(
        faulty.region_differs(&before, 110, 180),
        "the strip is drawn"
    );
    screen.tap("English");
    assert!(
        screen.shows("Card reader not connected: check its USB cable, unplug it and plug it back")
    );
    screen.tap("中文");
    // A staff note (no operator PIN) is on the staff's pages only; device faults everywhere.
    screen.handle().set_status(StatusView {
        faults: vec![("读卡器没有连接".into(), "Card reader not connected".into())],
        staff_notes: vec![(
            "柜台页面没有设置密码".into(),
            "The counter has no PIN".into(),
        )],
        ..status(true)
    });
    screen.render();
    assert!(screen.shows("柜台页面没有设置密码"));
    screen.tap("村民页面");
    screen.render();
    assert!(
        screen.shows("读卡器没有连接"),
        "device faults on the villager's screen too"
    );
    assert!(!screen.shows("柜台页面没有设置密码"), "staff notes are not");
    screen.tap("工作人员");
    screen.render();
    assert!(screen.shows("柜台页面没有设置密码"));
    screen.take_events();
    screen.handle().set_status(status(true));
    screen.render();
    assert!(!screen.shows("读卡器没有连接：请检查读卡器的 USB 线，拔下再插上"));

    // A service tile starts an application.
    screen.tap("生育登记");
    assert_eq!(
        screen.take_events(),
        vec![UiEvent::StartService {
            service_id: "birth-permit".into()
        }]
    );

    // The form, as the firmware opens it, fills it from a card and reports problems.
    let handle = screen.handle();
    handle.show_form(birth_permit());
    screen.render();
    assert!(screen.shows("生育登记"));
    let first_name = || {
        // The input, not its label (both are called 姓名).
        screen
            .find("姓名")
            .into_iter()
            .find(|e| e.accessible_value().is_some())
            .expect("a name field")
    };
    assert_eq!(first_name().accessible_value().as_deref(), Some(""));

    // Typing reports each edit.
    first_name().set_accessible_value("玉");
    screen.pump();
    assert_eq!(
        screen.take_events(),
        vec![UiEvent::FieldEdited {
            field_id: "mother.name".into(),
            value: "玉".into()
        }]
    );

    // A card tap fills fields, also one already typed into; unknown ids are ignored.
    let handle = screen.handle();
    std::thread::spawn(move || {
        handle.fill_fields(vec![
            ("mother.name".into(), "玉罕".into()),
            ("mother.gender".into(), "2".into()),
            ("mother.ethnicity".into(), "17".into()),
            ("mother.birth-date".into(), "1999-01-01".into()),
            ("mother.id-number".into(), "53282319990101002X".into()),
            (
                "mother.address".into(),
                "云南省勐腊县勐仑镇曼庄村 12 号".into(),
            ),
            ("no.such.field".into(), "ignored".into()),
        ]);
        handle.set_scan_state("mother-hukou".into(), true, None);
        handle.set_scan_state(
            "mother-id".into(),
            true,
            Some(("背面有些模糊".into(), "The back is a little blurred".into())),
        );
        handle.set_field_errors(vec![
            error(
                "mother.birth-date",
                "出生日期和身份证号不一致",
                "The date of birth does not match the ID number",
            ),
            error(
                "mother.id-number",
                "身份证号码校验位不对，请核对",
                "The ID number's check digit is wrong; please check it",
            ),
            error(
                "father.name",
                "请填写父亲姓名",
                "Please enter the father's name",
            ),
            error(
                "scans.father-id",
                "还没有扫描父亲身份证",
                "The father's ID card is not scanned yet",
            ),
            error(
                "marriage",
                "母亲结婚时未满 20 周岁",
                "The mother was under 20 at marriage",
            ),
        ]);
    })
    .join()
    .expect("the worker thread ran");
    let form_frame = screen.render_both("form");
    form_frame.assert_rich("form");
    assert_eq!(first_name().accessible_value().as_deref(), Some("玉罕"));
    assert!(
        screen.shows("母亲结婚时未满 20 周岁"),
        "an unmatched error shows on top"
    );
    assert!(
        screen.shows("还没有扫描父亲身份证"),
        "a paper's error under the paper"
    );
    assert!(screen.shows("有 5 处需要修改"));
    // Further down, after a wipe.
    assert!(
        !screen.shows("身份证号码校验位不对，请核对"),
        "below the fold"
    );
    screen.scroll(400.0, 500.0, -450.0);
    assert!(
        screen.shows("出生日期和身份证号不一致"),
        "field error under its field"
    );
    assert!(screen.shows("身份证号码校验位不对，请核对"));
    assert!(!screen.shows("母亲结婚时未满 20 周岁"), "scrolled away");
    screen.render_both("form-scrolled");
    screen.scroll(400.0, 500.0, 1000.0);
    assert!(screen.shows("背面有些模糊"));
    assert!(
        screen.shows("傣族 Dai"),
        "the picker shows the chosen label"
    );

    // Choices: buttons for a few options, a picker for many.
    screen.tap("男 Male");
    screen.tap("民族");
    screen.render_both("form-picker");
    assert!(screen.shows("关闭"));
    screen.tap("佤族 Va");
    assert!(!screen.shows("关闭"), "choosing closes the picker");
    assert_eq!(
        screen.take_events(),
        vec![
            UiEvent::FieldEdited {
                field_id: "mother.gender".into(),
                value: "1".into()
            },
            UiEvent::FieldEdited {
                field_id: "mother.ethnicity".into(),
                value: "21".into()
            },
        ]
    );

    // The on-screen keypad types into a field as a keyboard would, each key an edit.
    screen.scroll(400.0, 500.0, -700.0);
    screen.tap("键盘：手机号码");
    assert!(screen.shows("已输入："));
    for key in ["1", "3", "8", "删除", "9"] {
        screen.tap(key);
    }
    assert!(screen.shows("已输入：139"));
    screen.render_both("form-keypad");
    screen.tap("完成");
    assert!(!screen.shows("已输入：139"), "Done closes the keypad");
    let typed: Vec<UiEvent> = ["1", "13", "138", "13", "139"]
        .into_iter()
        .map(|v| UiEvent::FieldEdited {
            field_id: "mother.phone".into(),
            value: v.into(),
        })
        .collect();
    assert_eq!(screen.take_events(), typed);
    // An ID number has an X key; clearing empties the field.
    screen.tap("键盘：身份证号");
    screen.tap("X");
    screen.tap("清空");
    assert!(screen.shows("已输入："));
    screen.tap("完成");
    let events = screen.take_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(&events[1], UiEvent::FieldEdited { field_id, value } if field_id == "mother.id-number" && value.is_empty()),
        "{events:?}"
    );
    screen.scroll(400.0, 500.0, 1000.0);
    // Scan, demo card tap.
    screen.tap("扫描 父亲身份证");
    screen.tap("模拟刷卡");
    assert_eq!(
        screen.take_events(),
        vec![
            UiEvent::ScanRequested {
                scan_id: "father-id".into()
            },
            UiEvent::SimulateCardTap,
        ]
    );

    // Submit sends every value once; a second tap before the answer is ignored.
    screen.tap("提交");
    screen.tap("提交");
    let events = screen.take_events();
    assert_eq!(events.len(), 1, "a double tap submits once: {events:?}");
    let UiEvent::Submit { values } = &events[0] else {
        panic!("expected a submit, got {events:?}");
    };
    assert_eq!(values.len(), 20, "every field of the form");
    let value = |id: &str| {
        values
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(value("mother.name"), Some("玉罕"));
    assert_eq!(value("mother.gender"), Some("1"));
    assert_eq!(value("mother.ethnicity"), Some("21"));
    assert_eq!(value("father.name"), Some(""));
    // The answer (new errors) re-enables Submit.
    screen.handle().set_field_errors(vec![error(
        "father.name",
        "请填写父亲姓名",
        "Please enter the father's name",
    )]);
    screen.pump();
    assert!(
        !screen.shows("身份证号码校验位不对，请核对"),
        "errors are replaced"
    );
    assert!(screen.shows("有 1 处需要修改"));
    screen.tap("提交");
    assert!(matches!(
        screen.take_events().as_slice(),
        [UiEvent::Submit { .. }]
    ));

    // Scanned papers show what was scanned, small; a tap shows it large.
    screen.handle().set_field_errors(Vec::new());
    let handle = screen.handle();
    std::thread::spawn(move || {
        handle.set_scan_preview("mother-id".into(), Some(card_picture()));
        handle.set_scan_preview("mother-hukou".into(), Some(page_picture()));
        // A picture whose bytes do not match its size is not shown (and nothing breaks).
        handle.set_scan_preview(
            "father-id".into(),
            Some(Picture {
                width: 10,
                height: 10,
                rgb: vec![0; 7],
            }),
        );
    })
    .join()
    .expect("the worker thread ran");
    screen.pump();
    assert!(screen.shows("查看扫描件 母亲身份证"));
    assert!(screen.shows("查看扫描件 母亲户口簿"));
    assert!(
        !screen.shows("查看扫描件 父亲身份证"),
        "not scanned: no preview"
    );
    let scans_frame = screen.render_both("form-scans");
    scans_frame.assert_rich("form-scans");
    screen.tap("查看扫描件 母亲户口簿");
    screen.render_both("form-scan-large");
    assert!(screen.shows("关闭"));
    screen.tap("关闭");
    assert!(!screen.shows("关闭"));

    // All is well: the firmware answers Submit with the review, everything on one screen.
    screen.tap("提交");
    assert!(matches!(
        screen.take_events().as_slice(),
        [UiEvent::Submit { .. }]
    ));
    screen.handle().show_review();
    let review = screen.render_both("form-review");
    review.assert_rich("form-review");
    // The review pages by tap too (the form's own arrows lie under it).
    let before = screen.render();
    for down in screen.find("下一页") {
        down.invoke_accessible_default_action();
    }
    screen.pump();
    assert!(
        screen.render().region_differs(&before, 200, 680),
        "a page down moved the review"
    );
    for up in screen.find("上一页") {
        up.invoke_accessible_default_action();
    }
    screen.pump();
    assert!(
        !screen.render().region_differs(&before, 200, 680),
        "and back"
    );
    assert!(screen.take_events().is_empty(), "paging sends nothing");
    assert!(screen.shows("请核对后保存：生育登记"));
    // (The form under the review is still in the element tree: values typed there are
    // field values, on the review they are text.)
    for seen in ["玉罕", "1999-01-01", "查看扫描件 母亲身份证"] {
        assert!(screen.shows(seen), "{seen} on the review");
    }
    // Back to the form changes nothing and sends nothing.
    screen.tap("返回修改");
    assert!(!screen.shows("确认提交"));
    assert!(screen.take_events().is_empty());
    screen.handle().show_review();
    screen.pump();
    // Confirm once; a second tap before the answer is ignored.
    screen.tap("确认提交");
    screen.tap("确认提交");
    assert_eq!(screen.take_events(), vec![UiEvent::ConfirmSubmit]);
    // The firmware found something after all (the date passed midnight): back to the form.
    screen.handle().close_review();
    screen.pump();
    assert!(!screen.shows("确认提交"));

    // The operator is called away: three minutes untouched and the villager's screen is
    // back; the form is set aside, and returns as it was when the operator does.
    screen.advance(Duration::from_secs(100));
    first_name().set_accessible_value("玉罕");
    screen.pump();
    screen.take_events();
    screen.advance(Duration::from_secs(100));
    assert!(screen.shows("提交"), "a touch restarted the three minutes");
    screen.advance(Duration::from_secs(81));
    assert!(screen.shows("请刷身份证"));
    assert!(!screen.shows("姓名"), "no form on screen");
    assert_eq!(screen.take_events(), vec![UiEvent::StaffTimedOut]);
    screen.render_both("idle-after-timeout");
    screen.tap("工作人员");
    assert_eq!(screen.take_events(), vec![UiEvent::ResumeForm]);
    assert!(screen.shows("这是刚才没有提交的申请，请继续"));
    assert_eq!(first_name().accessible_value().as_deref(), Some("玉罕"));
    assert!(screen.shows("查看扫描件 母亲身份证"), "with its scans");

    // Cancelling a filled form asks first.
    screen.pump();
    screen.tap("取消");
    screen.render_both("form-cancel");
    assert!(screen.shows("放弃这份申请吗？"));
    assert!(screen.take_events().is_empty());
    screen.tap("继续填写");
    assert!(!screen.shows("放弃这份申请吗？"));
    screen.tap("取消");
    screen.tap("放弃");
    assert_eq!(screen.take_events(), vec![UiEvent::CancelForm]);
    screen.render();
    assert!(screen.shows("最近的申请"), "back on the board");

    // Submitted page.
    screen.handle().show_form(birth_permit());
    screen.handle().show_submitted(ReceiptView {
        tracking_number: "MZ-240611-0009".into(),
        service_zh: "生育登记".into(),
        service_en: "Birth registration".into(),
        note_zh: "联网后会自动发送到县里，批准后会收到短信。".into(),
        note_en: "It goes to the county when the link is up; an SMS follows the decision.".into(),
    });
    let submitted_frame = screen.render_both("submitted");
    submitted_frame.assert_rich("submitted");
    assert!(screen.shows("MZ-240611-0009"));
    assert!(screen.shows("已保存"));
    screen.tap("返回首页");
    assert_eq!(screen.take_events(), vec![UiEvent::ShowBoard]);
    assert!(screen.shows("最近的申请"));

    // Banners hide themselves; a newer one is not cut short by the older one's timer.
    let handle = screen.handle();
    handle.show_message("已读卡".into(), "Card read".into(), MessageKind::Info);
    screen.render();
    assert!(screen.shows("已读卡"));
    screen.advance(Duration::from_secs(2));
    handle.show_message(
        "扫描仪没有响应，请检查电源".into(),
        "The scanner does not answer; check its power".into(),
        MessageKind::Error,
    );
    screen.render_both("board-message");
    screen.advance(Duration::from_secs(3));
    assert!(
        screen.shows("扫描仪没有响应，请检查电源"),
        "the info banner's timer must not hide the error"
    );
    screen.advance(Duration::from_secs(10));
    assert!(!screen.shows("扫描仪没有响应，请检查电源"));
    handle.show_message("已读卡".into(), "Card read".into(), MessageKind::Warning);
    screen.pump();
    screen.tap("已读卡");
    assert!(!screen.shows("已读卡"), "a tap hides the banner");

    staff_sign_in(&screen);
    villager_flow(&screen);

    // Quitting is harmless here, and a handle outliving the window does nothing.
    let handle = screen.handle();
    handle.quit();
    drop(screen);
    handle.show_board();
    handle.set_board(board());
}

fn notices() -> Vec<NoticeView> {
    vec![
        NoticeView {
            title_zh: "本周六上午停电".into(),
            title_en: "Power cut on Saturday morning".into(),
            body_zh: "因线路检修，本周六 8:00–12:00 全村停电。服务站照常开放，申请会先保存在本机，来电后自动发送。".into(),
            body_en: "Line repairs: no power in the village on Saturday 8:00–12:00. The station stays open; applications are kept here and sent when the power is back.".into(),
            published: "6月9日".into(),
        },
        NoticeView {
            title_zh: "老年人优待证年龄调整".into(),
            title_en: "Elderly card: new age".into(),
            body_zh: "从下月起，本县年满 60 周岁即可办理。".into(),
            body_en: "From next month the county issues the card from age 60.".into(),
            published: "6月2日".into(),
        },
    ]
}

fn guide() -> Vec<GuideView> {
    let p = |zh: &str, en: &str| (zh.to_owned(), en.to_owned());
    vec![
        GuideView {
            id: "elderly-card".into(),
            title_zh: "老年人优待证".into(),
            title_en: "Elderly card".into(),
            what_zh: "为年满规定年龄的老年人办理优待证，凭证享受乘车、游览等优待。".into(),
            what_en: "The elderly card gives discounts on buses, sights and more.".into(),
            who_zh: "申请当天年满 60 周岁。可以由家人代办。".into(),
            who_en: "Aged 60 or over on the day of application. A relative may apply for you.".into(),
            papers: vec![
                p("申请人身份证（正反两面）", "Applicant's ID card (both sides)"),
                p("户口簿（户主页和本人页）", "Household register (head's page and own page)"),
                p("一寸照片", "A 1-inch photo"),
            ],
        },
        GuideView {
            id: "birth-permit".into(),
            title_zh: "生育登记".into(),
            title_en: "Birth registration".into(),
            what_zh: "夫妻办理生育登记，领取生育服务证。".into(),
            what_en: "Registers a birth and issues the birth permit.".into(),
            who_zh: "登记结婚的夫妻；结婚登记时女方年满 20 周岁，男方年满 22 周岁。".into(),
            who_en: "Married couples; at the marriage registration the woman was at least 20 and the man at least 22.".into(),
            papers: vec![p("夫妻双方身份证", "Both ID cards"), p("结婚证", "Marriage certificate")],
        },
    ]
}

fn person_rows() -> Vec<PersonRow> {
    vec![
        PersonRow {
            tracking_number: "MZ-240608-0004".into(),
            service_zh: "老年人优待证".into(),
            service_en: "Elderly card".into(),
            state: BoardState::Ready,
            words_zh: "已批准，请到服务站领取".into(),
            words_en: "Approved, ready for pick-up at the station".into(),
            updated_zh: "6月9日".into(),
            updated_en: "06-09".into(),
        },
        PersonRow {
            tracking_number: "MZ-240611-0009".into(),
            service_zh: "生育登记".into(),
            service_en: "Birth registration".into(),
            state: BoardState::Waiting,
            words_zh: "已保存在服务站，联网后会发到县里".into(),
            words_en: "Saved at the station; it goes to the county when the link is up".into(),
            updated_zh: "今天 10:42".into(),
            updated_en: "today 10:42".into(),
        },
    ]
}

/// The villager's screen: notices and the guide without a card, one person's applications
/// after a tap, and back to idle by itself.
/// The PIN page and the technician page: digits as dots, a refusal in words, the page of
/// the role once the firmware accepts, the self-test's lines.
fn staff_sign_in(screen: &Screen) {
    let handle = screen.handle();
    handle.set_sign_in(
        true,
        true,
        Some((
            "演示：操作员密码 1234，技术员密码 5678".into(),
            "Demo: operator PIN 1234, technician PIN 5678".into(),
        )),
    );
    screen.tap("村民页面");
    screen.take_events();
    screen.tap("工作人员");
    assert_eq!(screen.take_events(), vec![], "the PIN first, no board");
    assert!(screen.shows("请输入操作员密码"));
    for digit in ["1", "2", "3", "9"] {
        screen.tap(digit);
    }
    screen.tap("删除");
    assert!(screen.shows("已输入 3 位"));
    screen.tap("4");
    let pin = screen.render_both("pin");
    pin.assert_rich("pin");
    screen.tap("确定");
    assert_eq!(
        screen.take_events(),
        vec![UiEvent::PinEntered {
            role: StaffRole::Operator,
            pin: "1234".into()
        }]
    );
    handle.pin_refused(
        "密码不对，还可以试 4 次".into(),
        "Wrong PIN; 4 tries left".into(),
    );
    screen.render_both("pin-wrong");
    assert!(screen.shows("密码不对，还可以试 4 次"));
    assert!(screen.shows("已输入 0 位"), "the digits are cleared");
    handle.pin_accepted(StaffRole::Operator);
    screen.render();
    assert!(screen.shows("最近的申请"));
    assert!(!screen.shows("密码不对，还可以试 4 次"));

    // Pick-up: a card tap on the board lists what its holder can collect.
    handle.show_handover(HandoverView {
        masked_name: "玉*罕".into(),
        rows: vec![
            HandoverRow {
                tracking_number: "MZ-240611-0005".into(),
                service_zh: "老年人优待证".into(),
                service_en: "Elderly card".into(),
            },
            HandoverRow {
                tracking_number: "MZ-240601-0002".into(),
                service_zh: "生育登记".into(),
                service_en: "Birth registration".into(),
            },
        ],
    });
    screen.render_both("board-handover");
    assert!(screen.shows("领取：玉*罕"));
    screen.tap("暂不领取");
    assert_eq!(screen.take_events(), vec![UiEvent::CancelHandover]);
    assert!(!screen.shows("领取：玉*罕"));
    handle.show_handover(HandoverView {
        masked_name: "玉*罕".into(),
        rows: vec![HandoverRow::default()],
    });
    screen.render();
    screen.tap("已交给本人");
    screen.tap("已交给本人");
    assert_eq!(
        screen.take_events(),
        vec![UiEvent::ConfirmHandover],
        "a double tap confirms once"
    );
    handle.close_handover();
    screen.render();
    assert!(!screen.shows("领取：玉*罕"));

    screen.tap("技术员");
    assert!(screen.shows("请输入技术员密码"));
    handle.pin_accepted(StaffRole::Technician);
    handle.set_station_info(vec![
        InfoView {
            label_zh: "服务站".into(),
            label_en: "Station".into(),
            value: "st-0001 勐腊县曼庄村为民服务站".into(),
        },
        InfoView {
            label_zh: "软件版本".into(),
            label_en: "Software".into(),
            value: "0.1.0".into(),
        },
    ]);
    screen.render();
    assert!(screen.shows("还没有自检：请按“运行自检”"));
    screen.tap("运行自检");
    assert_eq!(screen.take_events(), vec![UiEvent::RunSelftest]);
    let check = |zh: &str, en: &str, ok: bool, detail: &str, action: &str| CheckView {
        label_zh: zh.into(),
        label_en: en.into(),
        ok,
        detail: detail.into(),
        action: action.into(),
    };
    handle.set_checks(
        vec![
            check("读卡器", "Card reader", true, "读卡器正常 Reader answers at /dev/kiosk-idcard; 安全模块 SAM 05.01-20260101-0000000001", ""),
            check("扫描仪", "Scanner", true, "扫描仪已连接 Scanner found: fujitsu:fi-7160 — Fujitsu fi-7160", ""),
            check("回执打印机", "Receipt printer", false, "打印机不能打印 The printer (/dev/kiosk-printer) cannot print: out of paper", "装纸、关好纸仓盖，或检查打印机的电源 Load paper, close the cover, or check the printer's power"),
            check("指示灯和蜂鸣器", "LEDs and buzzer", true, "指示灯和蜂鸣器由运行中的终端控制 LEDs and buzzer driven by the running kiosk", ""),
            check("存储", "Storage", true, "存储正常 Storage OK: 可用 27412 MB / 共 29520 MB Free 27412 MB of 29520 MB (/var/lib/kiosk)", ""),
            check("数据库", "Database", true, "数据库完好 Database intact", ""),
            check("时间", "Clock", true, "时间 Time 2026-11-25T09:12:03+08:00；与县平台相差 1 秒 1 s from the county's clock", ""),
            check("县平台连接", "County link", false, "连不上县平台 The county platform cannot be reached (county.example:443): connection refused", "检查网线或 4G 信号 Check the cable or the 4G signal"),
        ],
        "09:12".into(),
    );
    let tech = screen.render_both("technician");
    tech.assert_rich("technician");
    assert!(screen.shows("回执打印机：未通过"));
    assert!(screen.shows("读卡器：正常"));
    assert!(
        screen.shows("县平台连接：未通过"),
        "failures come first, whatever their place in the list"
    );
    screen.tap("返回柜台");
    assert_eq!(screen.take_events(), vec![UiEvent::ShowBoard]);
    handle.set_sign_in(false, false, None);
    screen.render();
}

fn villager_flow(screen: &Screen) {
    screen.tap("村民页面");
    assert_eq!(screen.take_events(), vec![UiEvent::ShowIdle]);
    let handle = screen.handle();
    handle.set_notices(notices());
    handle.set_guide(guide());
    let idle = screen.render_both("idle");
    idle.assert_rich("idle");
    assert!(screen.shows("本周六上午停电"));
    assert!(screen.shows("请刷身份证"));
    // The list reads by taps too: a page down moves it, and back up it is as it was.
    let top = screen.render();
    screen.tap("下一页");
    let down = screen.render();
    assert!(
        down.region_differs(&top, 120, 680),
        "a page down moved the list"
    );
    screen.tap("下一页");
    screen.tap("上一页");
    screen.tap("上一页");
    let again = screen.render();
    assert!(!again.region_differs(&top, 120, 680), "back at the top");
    assert!(screen.take_events().is_empty());

    screen.tap("老年人优待证");
    screen.render_both("idle-guide");
    assert!(screen.shows("申请当天年满 60 周岁。可以由家人代办。"));
    assert!(screen.shows("户口簿（户主页和本人页）"));
    screen.tap("关闭");
    assert!(!screen.shows("户口簿（户主页和本人页）"));

    // A card tap (the firmware looks the person up and answers).
    screen.handle().show_person(person_rows());
    screen.render_both("person");
    assert!(screen.shows("老年人优待证: 已批准，请到服务站领取"));
    assert!(!screen.shows("请刷身份证"));

    // A touch keeps it up; then, untouched, it goes back to idle and forgets the rows.
    screen.advance(Duration::from_secs(40));
    screen.tap("English");
    assert!(screen.shows("Elderly card: Approved, ready for pick-up at the station"));
    screen.advance(Duration::from_secs(40));
    assert!(
        screen.shows("Your applications"),
        "the touch restarted the wait"
    );
    screen.advance(Duration::from_secs(10));
    assert!(screen.shows("请刷身份证"), "back to idle, in Chinese");
    assert!(!screen.shows("老年人优待证: 已批准，请到服务站领取"));
    assert!(!screen.shows("Elderly card: Approved, ready for pick-up at the station"));

    // Done goes back at once; nobody's card, nobody's data.
    screen.handle().show_person(Vec::new());
    screen.render();
    assert!(screen.shows("没有找到这张身份证的申请。"));
    screen.tap("完成");
    assert_eq!(screen.take_events(), vec![UiEvent::ShowIdle]);
    assert!(screen.shows("请刷身份证"));
}
