"""The quick replies every new shop starts with: (category, shortcode, title, body).

Shortcodes are pinyin initials, the way merchants abbreviate on a phone keyboard. The owner may
edit or delete any of them; "restore defaults" brings back the ones whose shortcode is free.
"""

from __future__ import annotations

DEFAULTS: tuple[tuple[str, str, str, str], ...] = (
    (
        "order_confirmation",
        "qr",
        "订单确认",
        "{客户名}您好，您的订单 {订单号} 已确认：{商品}，合计 {金额}。我们会尽快安排发货，有问题随时找我们～",
    ),
    (
        "order_confirmation",
        "hd",
        "请核对订单",
        "{客户名}您好，麻烦帮忙核对一下订单：单号 {订单号}，商品 {商品}，金额 {金额}。"
        "收货地址和电话如需修改，直接回复告诉我就好。",
    ),
    (
        "order_confirmation",
        "fk",
        "付款提醒",
        "{客户名}您好，订单 {订单号} 共 {金额}，还没有收到您的付款哦。付款后我们马上为您备货～",
    ),
    (
        "shipping_notice",
        "fh",
        "已发货通知",
        "{客户名}您好，您的订单 {订单号} 已经发货啦！{快递公司}，运单号 {物流单号}，可以随时查询物流进度。",
    ),
    (
        "shipping_notice",
        "wl",
        "物流进度",
        "帮您查了一下，订单 {订单号} 走的是{快递公司}，运单号 {物流单号}，正在运输途中，请再耐心等一等～",
    ),
    (
        "shipping_notice",
        "yh",
        "签收前验货",
        "温馨提醒：包裹送到时，请当着快递员的面先检查外包装和商品，确认没有破损、没有少件再签收。"
        "如有问题请拍照并拒签，然后马上联系我们，我们来处理。",
    ),
    (
        "after_sales",
        "sh",
        "售后处理",
        "{客户名}您好，给您添麻烦了，非常抱歉。请把订单号、问题说明和商品照片（连同外包装）发给我们，"
        "核实后 24 小时内给您处理方案。",
    ),
    (
        "after_sales",
        "th",
        "退换货说明",
        "签收后 7 天内可以申请退换（商品完好、不影响再次销售）。请先联系客服登记，"
        "寄回时在包裹里放一张纸条，写上订单号 {订单号} 和您的联系方式。",
    ),
    (
        "after_sales",
        "hp",
        "收货感谢",
        "谢谢{客户名}的支持！商品用着满意的话，欢迎给我们一个好评；有任何问题也随时来找我们～",
    ),
    ("custom", "hi", "欢迎语", "您好，欢迎光临！请问有什么可以帮您？"),
    ("custom", "dd", "请稍等", "好的，请稍等，我马上帮您查一下～"),
    (
        "custom",
        "xb",
        "下班留言",
        "您好，现在是休息时间，您的留言我们已经收到，上班后第一时间回复您，谢谢理解！",
    ),
)
