"""The console in Japanese: English text (the key) to what a Japanese shop owner reads.

Named fields ({name}, {n}…) are filled after translation and must be kept.
Words in keys such as `enter`, `esc`, `ctrl+s` are keys on the keyboard and
stay as they are. Customer text never passes through here.

Glossary: the words a shop owner uses, one for each idea, everywhere.

    customer, contact   お客様        (never 顧客 or コンタクト)
    identity            連絡先        an address, a phone number, a Telegram account
    channel             連絡手段      メール, Telegram, SMS (never チャネル)
    thread              会話          (never スレッド)
    merge               まとめる      two records of one customer become one (never 統合)
    split off           分ける
    view                絞り込み      All, Mine, Waiting… (never ビュー)
    assign              担当          自分が担当, 担当なし (never 割り当て)
    agent               担当者, 自分
    resolve / reopen    対応済みにする / 対応中に戻す (status: 対応中, 保留中, 対応済み)
    snooze              スヌーズ      as on a phone's alarm and in mail apps
    canned reply        定型文
    placeholder         差し込み項目  {name}, {order_id}
    composer            返信欄
    profile             お客様情報
    raw source          原文          a mail exactly as it came
    command palette     メニュー      ctrl+p (never コマンドパレット)
    duplicates          同じお客様の候補
    undo                元に戻す (a merge) / 取り消す (a reply being sent)
    opted out           配信停止
    channel marks       ✉ メール, ✈ Telegram, ☏ SMS (legend under ?)

Politeness: whatever tells the agent something (a toast, a dialog's sentence)
is です/ます; labels, titles and short hints are nouns (送信, 対応済み,
enter 選択 · esc キャンセル). Dates read 12月2日(水) 15:04, today just
15:04; ages 今, 5分, 3時間, 昨日, 3日前 (see widgets/format.py).
"""

from __future__ import annotations

import re

JA: dict[str, str] = {
    # -- keys: the footer, the help screen, the command palette --------------
    "Help": "ヘルプ",
    "Quit": "終了",
    "Commands": "メニュー",
    "Reply": "返信",
    "Canned": "定型文",
    "Search": "検索",
    "Resolve": "対応済み",
    "Reopen": "対応中に戻す",
    "Snooze": "スヌーズ",
    "Merge": "まとめる",
    "Undo last merge into this contact": "このお客様に直前にまとめた分を元に戻す",
    "Retry a failed reply": "送れなかった返信を送り直す",
    "Profile": "お客様情報",
    "Satisfaction: last ★ {last}/5 ({when}) · average {average:.1f} of {count}": (
        "満足度: 前回 ★ {last}/5（{when}）· 平均 {average:.1f}（{count} 件）"
    ),
    "Tags": "タグ",
    "Next view": "次の絞り込み",
    "Views with counts": "絞り込みの一覧 (件数つき)",
    "Next waiting customer": "返信を待っているお客様へ",
    "Assign to me / unassign": "自分が担当 / 担当を外す",
    "Possible duplicates": "同じお客様の候補",
    "Back": "戻る",
    "Close": "閉じる",
    "Cancel": "キャンセル",
    "Save": "保存",
    "Down": "下へ",
    "Up": "上へ",
    "Send": "送信",
    "Canned reply": "定型文",
    "Channel": "連絡手段",
    "Attach a file": "ファイルを添付",
    "New canned reply": "定型文を新しく作る",
    "Edit canned reply": "定型文を編集",
    "Delete canned reply": "定型文を削除",
    "Next message": "次のメッセージ",
    "Previous message": "前のメッセージ",
    "First": "最初へ",
    "Last": "最後へ",
    "Show or fold quoted text": "引用部分を表示 / たたむ",
    "Show the raw source": "原文を表示",
    "Save attachments": "添付ファイルを保存",
    "Insert as is": "このまま挿入",
    "Merge the pair": "この2件をまとめる",
    "Not the same customer": "別のお客様",
    "Split the identity off": "この連絡先を別のお客様に分ける",
    "Switch the kept value": "残す値を切り替え",
    "Keys": "キー操作",
    "Every key on this screen": "この画面のキー操作をすべて表示",
    "Write a reply to the open customer": "表示中のお客様に返信を書く",
    "Search every message and contact": "すべてのメッセージとお客様を検索",
    "Mark the customer's thread resolved": "このお客様の会話を対応済みにする",
    "Reopen the customer's thread": "このお客様の会話を対応中に戻す",
    "Hide the thread until a time": "決めた時刻まで会話を隠す",
    "Merge another contact into this one": "別のお客様の記録をこのお客様にまとめる",
    "Insert a canned reply": "定型文を挿入",
    "Undo: the reply just sent, else the last merge into this contact": (
        "元に戻す: 送信待ちの返信、なければ直前にまとめた分"
    ),
    "Edit in $EDITOR": "エディタで書く ($EDITOR)",
    "Tag the customer; each tag is a view": "お客様にタグを付ける (タグごとに絞り込めます)",
    "Every view of the customers with counts": "お客様の絞り込みを件数つきで一覧",
    "Names, language, fields and identities": "名前・言語・項目・連絡先",
    "Contacts that may be the same customer": "同じお客様かもしれない記録",
    # Textual's own commands and texts, where they show.
    "Theme": "テーマ",
    "Change the current theme": "画面の配色を変更",
    "Quit the application as soon as possible": "OmniTUI をすぐに終了",
    "Show help for the focused widget and a summary of available keys": (
        "選択中の欄のヘルプと使えるキーの一覧を表示"
    ),
    "Hide the keys and widget help panel": "キー操作とヘルプの欄を隠す",
    "Minimize": "元の大きさに戻す",
    "Minimize the widget and restore to normal size": "大きく表示した欄を元の大きさに戻す",
    "Maximize": "大きく表示",
    "Maximize the focused widget": "選択中の欄を画面いっぱいに表示",
    "Screenshot": "スクリーンショット",
    "Save an SVG 'screenshot' of the current screen": "今の画面を画像ファイルに保存",
    "Search for commands…": "操作を検索…",
    "Search for themes…": "テーマを検索…",
    "No matches found": "見つかりません",
    "Do you want to quit?": "終了しますか？",
    "Press {key} to quit": "終了するには {key} を押します",
    "Saved the screen to {path}": "画面を {path} に保存しました",
    "The screen could not be saved": "画面を保存できませんでした",
    # -- help screen -----------------------------------------------------------
    "OmniTUI keys": "OmniTUI のキー操作",
    "where": "場所",
    "key": "キー",
    "does": "操作",
    "anywhere": "どこでも",
    "inbox": "受信箱",
    "contacts": "お客様一覧",
    "thread": "会話",
    "composer": "返信欄",
    "canned pane": "定型文欄",
    "Open the merged thread": "会話を開く (連絡手段をまとめて表示)",
    "Next / previous pane": "次 / 前の欄へ",
    "Marks: {legend}": "連絡手段の印: {legend}",
    # -- inbox: panes, header, statuses, views ---------------------------------
    "Customers": "お客様",
    "Thread": "会話",
    "open now": "営業中",
    "closed": "休業中",
    "closed until {when}": "{when} まで休業",
    "Canned replies": "定型文",
    "view": "絞り込み",
    "Views": "絞り込み",
    "All": "すべて",
    "Mine": "自分の担当",
    "Unassigned": "担当なし",
    "Waiting": "返信待ち",
    "Snoozed": "スヌーズ中",
    "Resolved": "対応済み",
    "Email": "メール",
    "email": "メール",
    "open": "対応中",
    "pending": "保留中",
    "snoozed": "スヌーズ中",
    "resolved": "対応済み",
    "(until {time})": "({time} まで)",
    "opted out": "配信停止",
    "contact": "お客様",
    "customer": "お客様",
    "you": "自分",
    "now": "今",
    "{n}m": "{n}分",
    "{n}h": "{n}時間",
    "{n}d": "{n}日前",
    "Mon": "月",
    "Tue": "火",
    "Wed": "水",
    "Thu": "木",
    "Fri": "金",
    "Sat": "土",
    "Sun": "日",
    "no tags": "タグなし",
    ", ": "、",
    # -- thread ------------------------------------------------------------------
    "Pick a customer on the left.": "左の一覧からお客様を選んでください。",
    "older messages: scroll up or press k": "以前のメッセージ: 上へスクロール / k",
    "queued": "送信待ち",
    "sending…": "送信中…",
    "sent": "送信済み",
    "delivered": "到着済み",
    "FAILED": "送信失敗",
    "unknown": "届いたか不明",
    "edited": "編集済み",
    "no text": "本文なし",
    "quoted text hidden (f shows it)": "引用部分をたたんでいます (f で表示)",
    # -- composer ----------------------------------------------------------------
    "No channel to reply on": "返信できる連絡手段がありません",
    "Reply via": "返信先",
    "switch": "切替",
    "{who} is replying too": "{who} も返信中",
    "{who} are replying too": "{who} も返信中",
    "{segments} SMS · {encoding} {units}/{capacity}": "{segments}通 · {encoding} {units}/{capacity}字",
    "GSM-7": "半角",
    "UCS-2": "全角",
    "{chars} makes it UCS-2": "全角: {chars}",
    "over {limit} characters": "{limit} 字を超えています",
    "fill in: {placeholders}": "未入力: {placeholders}",
    # -- notifications -----------------------------------------------------------
    "New message": "新着メッセージ",
    "and {n} more": "ほか{n}人",
    "Pick a customer first": "先にお客様を選んでください",
    "This message has no raw source (only email keeps one)": (
        "このメッセージには原文がありません (原文が残るのはメールだけです)"
    ),
    "This message has no attachments": "このメッセージに添付ファイルはありません",
    "Attachments": "添付ファイル",
    "Saved to {folder}: {files}": "{folder} に保存しました: {files}",
    "Not saved: {reason}": "保存できませんでした: {reason}",
    "Saved /{shortcut}": "/{shortcut} を保存しました",
    "Deleted /{shortcut} (canned export keeps a copy in git)": (
        "/{shortcut} を削除しました (控えは omnitui canned export で残せます)"
    ),
    "Press x again to delete /{shortcut}": "もう一度 x を押すと /{shortcut} を削除します",
    "Fill in {placeholders} before sending": "送信する前に {placeholders} を入力してください",
    "Careful": "ご注意ください",
    "{names} is already replying to this customer": "{names} がすでにこのお客様に返信中です",
    "{names} are already replying to this customer": "{names} がすでにこのお客様に返信中です",
    "Nothing to send": "送信する内容がありません",
    "Unresolved placeholder": "未入力の差し込み項目があります",
    "Not sent: fill in {placeholders} first": (
        "送信していません: 先に {placeholders} を入力してください"
    ),
    "This customer has no channel to reply on": "このお客様に返信できる連絡手段がありません",
    "Not sent: an SMS can be at most 1,600 characters": (
        "送信していません: SMS は 1,600 字までです"
    ),
    "Not sent: an SMS from OmniTUI cannot carry files; ctrl+t picks email or Telegram": (
        "送信していません: SMS ではファイルを送れません。"
        "ctrl+t でメールか Telegram に切り替えてください"
    ),
    "Opted out": "配信停止",
    "Not sent: {reason}": "送信していません: {reason}",
    "Not done: {reason}": "できませんでした: {reason}",
    "⚠ store unreachable: ": "⚠ ストアに接続できません: ",
    " · trying again by itself": " · 自動で再接続します",
    "Press ctrl+t to reply by {channel} instead.": "ctrl+t で {channel} に切り替えて返信できます。",
    "They have no other channel; texting START opts them back in.": (
        "ほかの連絡手段はありません。お客様が START と送ると、また受け取れるようになります。"
    ),
    "Not sent: this customer opted out of {channel} (they texted STOP).": (
        "送信していません: このお客様は {channel} の配信を停止しています (STOP と送信済み)。"
    ),
    # The composer's status line: one-way SMS to Japan, opt-outs, LINE replies and pushes.
    # LINE's own words: 応答メッセージ (a free reply), プッシュメッセージ (counted), ブロック.
    "Not sent: this customer blocked the shop's LINE account.": (
        "送信していません: このお客様は LINE 公式アカウントをブロックしています。"
    ),
    "They have no other channel; once they unblock it, you can write again.": (
        "ほかの連絡手段はありません。ブロックが解除されれば、また送れます。"
    ),
    "Not sent: this customer blocked the shop's Telegram bot.": (
        "送信していません: このお客様はお店の Telegram ボットをブロックしています。"
    ),
    "They have no other channel; once they write to the bot again, you can reply.": (
        "ほかの連絡手段はありません。お客様がまたボットにメッセージを送れば、返信できます。"
    ),
    "one-way": "一方通行",
    "Japanese mobiles cannot answer SMS": "日本の携帯電話は SMS に返信できません",
    "no other channel to offer": "ほかの連絡手段なし",
    "opted out (texted STOP): nothing can be sent": "配信停止 (STOP と送信済み): 送信できません",
    "blocked the LINE account: nothing can be sent": (
        "LINE 公式アカウントがブロックされています: 送信できません"
    ),
    "blocked the Telegram bot: nothing can be sent until they write again": (
        "Telegram ボットがブロックされています: お客様からまた連絡があるまで送信できません"
    ),
    "reply (free)": "応答メッセージ (無料)",
    "push (quota not known yet)": "プッシュ (今月の残りはまだ不明)",
    "push (no monthly limit)": "プッシュ (月の上限なし)",
    "push: {left} of {limit} left this month": "プッシュ: 今月の残り {left}/{limit} 通",
    "push: this month's {limit} are used up, a push will fail": (
        "プッシュ: 今月の {limit} 通を使い切ったため送れません"
    ),
    "Nobody is waiting for an answer": "返信を待っているお客様はいません",
    "Assigned to {agent}": "{agent} の担当にしました",
    "Not merged: {reason}": "まとめられませんでした: {reason}",
    "Merged. Press u to undo.": "まとめました。u で元に戻せます。",
    "No merge into this contact to undo": "元に戻せるまとめはありません",
    "Merge undone: the other contact is back on its own": (
        "元に戻しました: もう一方のお客様は別の記録に戻りました"
    ),
    "Queued again": "もう一度送ります",
    "Channels are run by another OmniTUI process (pid {pid}); this console uses it.": (
        "メールなどの送受信は、別に動いている OmniTUI (プロセス番号 {pid}) が行っています。"
        "この画面はそれを使います。"
    ),
    "The other OmniTUI process stopped: this console now runs the channels.": (
        "別の OmniTUI が止まりました。この画面がメールなどの送受信を引き継ぎます。"
    ),
    "Too late to undo: the reply is on its way": "取り消せません: 返信はすでに送信中です",
    "Not sent: the reply is back in the composer": (
        "送信を取り消しました。返信は返信欄に戻っています"
    ),
    "Undone": "取り消しました",
    "Sending in {seconds} s · u to undo": "{seconds} 秒後に送信します · u で取り消し",
    "Editor": "エディタ",
    "${variable} cannot be read: {reason}": "${variable} を読み取れません: {reason}",
    "Set $VISUAL or $EDITOR to your editor (for example: export EDITOR=nano)": (
        "$VISUAL か $EDITOR にエディタを設定してください (例: export EDITOR=nano)"
    ),
    "The editor {editor} did not start: {reason}": "エディタ {editor} を起動できません: {reason}",
    "The editor exited with status {code}; the reply is as it was": (
        "エディタが終了コード {code} で終わりました。返信は元のままです"
    ),
    "This terminal cannot hand over to an editor": "この端末ではエディタに切り替えられません",
    "Not sent: the reply is still loading, try again": (
        "送信していません: 返信を読み込み中です。もう一度お試しください"
    ),
    "OmniTUI stopped on an unexpected error; what happened is in {log}": (
        "OmniTUI は思わぬエラーで終了しました。詳しくは {log} に記録しています"
    ),
    "Switched to the view All to show this customer": (
        "このお客様を表示するため、絞り込みを「すべて」に切り替えました"
    ),
    # -- pickers -------------------------------------------------------------------
    "type to filter": "入力して絞り込み",
    "type to filter · ↑↓ move · enter pick · esc cancel": (
        "入力して絞り込み · ↑↓ 移動 · enter 選択 · esc キャンセル"
    ),
    "type to filter · enter pick · esc cancel": "入力して絞り込み · enter 選択 · esc キャンセル",
    "Merge another contact into {name}": "{name} にまとめるお客様を選ぶ",
    "Search messages and contacts": "メッセージとお客様を検索",
    "words or Japanese (予約) · ↑↓ move · enter jump · esc cancel": (
        "言葉や名前 (予約、山田) · ↑↓ 移動 · enter 開く · esc キャンセル"
    ),
    "{n} found": "{n} 件",
    "nothing found": "見つかりません",
    "{count} in {ms} ms · ↑↓ move · enter jump · esc cancel": (
        "{count} ({ms} ミリ秒) · ↑↓ 移動 · enter 開く · esc キャンセル"
    ),
    "Snooze until…": "いつまでスヌーズしますか",
    "↑↓ move · enter snooze · esc cancel": "↑↓ 移動 · enter スヌーズ · esc キャンセル",
    "1 hour": "1時間後",
    "3 hours": "3時間後",
    "Tomorrow 9:00": "明日 9:00",
    "Next Monday 9:00": "来週月曜 9:00",
    # -- merge preview -------------------------------------------------------------
    "What moves here (nothing is deleted):": "こちらに移るもの (削除されるものはありません):",
    "Both have a value: enter or space switches which one is kept": (
        "両方に値があります: enter か space で残す値を切り替え"
    ),
    "The other value is kept as history · y merge · esc cancel · u undoes": (
        "残さない値も履歴に残ります · y まとめる · esc キャンセル · u 元に戻す"
    ),
    "1 message": "メッセージ 1 件",
    "{n} messages": "メッセージ {n} 件",
    "Taken from the other contact: ": "もう一方から引き継ぐ値: ",
    "Tags: ": "タグ: ",
    # -- duplicates ------------------------------------------------------------------
    "a merge (u in the inbox undoes it) · d not the same · esc back": (
        "a まとめる (受信箱の u で元に戻す) · d 別のお客様 · esc 戻る"
    ),
    "No possible duplicates. esc back": "同じお客様の候補はありません。esc 戻る",
    "Merged. u on the contact undoes it.": "まとめました。そのお客様の上で u を押すと元に戻せます。",
    "names read alike: {a} / {b}": "名前が似ています: {a} / {b}",
    "wrote {number}, the other's phone number": "もう一方の電話番号 {number} を書いています",
    # -- who is waiting (the supervisor's view, W) ---------------------------------------
    "Who is waiting, longest first": "返信待ちの一覧 (待ち時間順)",
    "Supervisor: who is waiting": "管理: 返信待ちのお客様",
    "Every customer waiting for an answer, longest first, as it changes": (
        "返信を待っているお客様を待ち時間の長い順に (随時更新)"
    ),
    "Who is waiting": "返信待ちのお客様",
    "{h} h": "{h} 時間",
    "{n} waiting": "返信待ち {n} 人",
    "{n} over {time}": "{time}超 {n} 人",
    "waiting": "待ち時間",
    "assigned to": "担当",
    "replying now": "返信中",
    "unassigned": "担当なし",
    "Page down": "次のページ",
    "Page up": "前のページ",
    "Open in the inbox": "受信箱で開く",
    "enter open in the inbox · esc back": "enter 受信箱で開く · esc 戻る",
    "waiting_alert ({alert}) must be longer than waiting_warn ({warn})": (
        "waiting_alert ({alert}) は waiting_warn ({warn}) より長くしてください"
    ),
    # -- profile ----------------------------------------------------------------------
    "Name": "名前",
    "First name": "下の名前",
    "Language": "言語",
    "used by {first_name}": "{first_name} に入ります",
    "ja, en… picks canned variants": "ja (日本語)、en (英語)… 定型文の言語を選びます",
    "comma separated": "カンマ区切り",
    "e.g. vip, wedding": "例: 常連, 結婚式",
    "Fields (one `key: value` a line: company, order_id, notes…)": (
        "項目 (1行に1つ「項目名: 値」。定型文の差し込み項目に使えます)"
    ),
    "Identities (x splits the highlighted one into its own contact)": (
        "連絡先 (x で選んだ連絡先を別のお客様に分けます)"
    ),
    "ctrl+s save · tab next field · esc back": "ctrl+s 保存 · tab 次の欄 · esc 戻る",
    "line {n} needs `key: value`": "{n} 行目は「項目名: 値」の形にしてください",
    "never": "なし",
    "last used {when}": "最終利用 {when}",
    "Not saved: a contact needs a name": "保存できませんでした: 名前を入れてください",
    "Profile saved": "お客様情報を保存しました",
    "Split off into its own contact; u in the inbox undoes it": (
        "別のお客様に分けました。受信箱の u で元に戻せます"
    ),
    "Earlier values (from merges):": "以前の値 (まとめたときに置き換わったもの):",
    "from {name}, {when}": "{name} から · {when}",
    "and {n} more values": "ほか {n} 件",
    "Keep on the customer's profile": "お客様情報に残す",
    # -- tags ---------------------------------------------------------------------------
    "Tags · {name}": "タグ · {name}",
    "In use: ": "使用中: ",
    "comma separated · enter save · esc cancel": "カンマ区切り · enter 保存 · esc キャンセル",
    # -- canned reply editor and fill-in ---------------------------------------------
    "Shortcut": "呼び出し名",
    "Title": "タイトル",
    "thanks  (typed as /thanks)": "例: thanks (返信欄で /thanks と入力)",
    "ja, en… or empty for any": "ja (日本語)、en (英語)… 空欄ならどのお客様にも",
    "{first_name|fallback} {name} {agent} {shop} and any profile or [shop] key": (
        "{first_name|fallback} {name} {agent} {shop}、お客様情報や [shop] の項目も使えます"
    ),
    "ctrl+s save · esc cancel": "ctrl+s 保存 · esc キャンセル",
    "uses:": "差し込み項目:",
    "“{title}” needs:": "「{title}」に必要な値:",
    "enter: next / insert · esc: insert with the {gaps} (sending waits for them)": (
        "enter: 次へ / 挿入 · esc: {gaps} を空けたまま挿入 (埋めるまで送信できません)"
    ),
    # -- attach and raw source -----------------------------------------------------------
    "Attach a file to the reply": "返信にファイルを添付",
    "e.g. ~/Documents/invoice.pdf": "例: ~/書類/請求書.pdf",
    "enter attaches · an empty path removes the attachments · esc cancels": (
        "enter 添付 · 空のまま enter で添付を外す · esc キャンセル"
    ),
    "no such file: {path}": "ファイルがありません: {path}",
    "{name} is {size:.1f} MB; at most 20 MB can be sent": (
        "{name} は {size:.1f} MB です。送れるのは 20 MB までです"
    ),
    "Raw source · {size:,} bytes · esc closes": "原文 · {size:,} バイト · esc 閉じる",
    "Raw source · {size:,} bytes, the first {shown:,} shown · s saves it whole · esc closes": (
        "原文 · {size:,} バイト (先頭 {shown:,} バイトを表示) · s 全体を保存 · esc 閉じる"
    ),
    "Save as a file": "ファイルに保存",
    # -- added beside the wording above: notes, writing first, undo, search counts --
    "Assign": "担当",
    "The customer who has waited longest for an answer": "いちばん長く返信を待っているお客様",
    "Undo": "元に戻す",
    "Retry": "再送",
    "Fold quoted text": "引用の折りたたみ",
    "Raw source": "原文",
    "Write the reply in your own editor": "返信をお使いのエディタで書きます",
    "until {when}": "{when} まで",
    "{n} customers": "お客様 {n} 人",
    "{found} (the newest {shown} listed)": "{found} (新しい {shown} 件を表示)",
    "{n} new messages": "新着メッセージ {n} 件",
    "[keymap] id": "[keymap] の ID",
    "Internal note": "社内メモ",
    "Internal note (agents only)": "社内メモ (担当者のみ)",
    "A note about the customer for the agents, never sent": "お客様についての担当者向けメモ (送信されません)",
    "Internal note about {name}": "{name} についての社内メモ",
    "Every agent sees it; the customer never does. @name tells that agent.": "担当者全員が見られ、お客様には送られません。@名前 でその担当者に知らせます。",
    "The note is empty": "メモが空です",
    "Note kept on {name}: only agents see it": "{name} にメモを残しました (担当者だけが見られます)",
    "only agents see this, never sent": "担当者だけに表示 · 送信されません",
    "{author} mentioned you in a note": "{author} がメモであなたに呼びかけました",
    "an agent": "担当者",
    "note": "メモ",
    "Write to…": "新しく連絡…",
    "Start a conversation: a customer or a new email address or phone": "会話を始める: お客様、または新しいメールアドレスや電話番号",
    "a name, an email address or a phone number · enter pick · esc cancel": "名前・メールアドレス・電話番号 · enter 選択 · esc キャンセル",
    "name, email or phone (090-1234-5678, +44…)": "名前・メール・電話番号 (090-1234-5678, +44…)",
    "New customer": "新しいお客様",
    "no messages yet": "メッセージなし",
    "No {channel} account is set up to write from": "送信に使える{channel}のアカウントが設定されていません",
    "A Telegram bot cannot write first: the customer has to send the shop's bot a message, then you can answer them.": "Telegram のボットからは先に送れません。お客様がお店のボットにメッセージを送ると、返信できるようになります。",
    "Type the number with its country code (+81 90…), or set default_region in [[sms]].": "国番号をつけて入力するか (+81 90…)、[[sms]] に default_region を設定してください。",
    "{name} can only be reached on Telegram, and a Telegram bot cannot write first: they have to send the shop's bot a message, then you can answer them.": "{name} には Telegram でしか連絡できませんが、Telegram のボットからは先に送れません。お客様がお店のボットにメッセージを送ると、返信できるようになります。",
    "{name} has no address to write to: add one in the profile (p).": "{name} には送り先がありません。プロフィール (p) で追加してください。",
    "No channel set up in config.toml reaches {name}'s addresses.": "config.toml に設定された連絡手段では {name} の連絡先に送れません。",
    "Subject": "件名",
    # -- email replies: Cc / Bcc, reply to all, signature ---------------------------
    "To the subject (email)": "件名へ (メール)",
    "Cc and Bcc (email)": "Cc と Bcc (メール)",
    "Reply to all: Cc everyone on the customer's last mail, or not": (
        "全員に返信: お客様の直前のメールの宛先全員を Cc に入れる / 外す"
    ),
    "Reply to all (email)": "全員に返信 (メール)",
    "Cc/Bcc": "Cc/Bcc",
    "reply all (+{n})": "全員に返信 (+{n})",
    "sender only": "差出人だけに戻す",
    "{what} is for email: ctrl+t picks another channel": (
        "{what}はメールだけです。ctrl+t で連絡手段を切り替えられます"
    ),
    "A subject": "件名",
    "Reply to all": "全員に返信",
    "The customer's last mail went to nobody else": (
        "お客様の直前のメールは、ほかの誰にも送られていません"
    ),
    "Copies of the reply to {customer}": "{customer} への返信の Cc / Bcc",
    "Bcc (not shown to the others)": "Bcc (ほかの宛先には表示されません)",
    "comma separated · tab next field · enter keep · esc cancel": (
        "カンマ区切り · tab 次の欄 · enter 決定 · esc キャンセル"
    ),
    "Not an email address:": "メールアドレスではありません:",
    # -- errors (omnitui.errors.OmniError templates) --
    "{reason}": "{reason}",
    "no config at {path}.\n  Make one with:   omnitui init\n  Or try the demo: omnitui demo": (
        "設定ファイルがありません: {path}\n"
        "  作るには:       omnitui init\n"
        "  お試しには:     omnitui demo"
    ),
    "{path} already exists (use --force to overwrite it)": (
        "{path} はもうあります(上書きするには --force)"
    ),
    "cannot read {file}: {reason}": "{file} を読めません: {reason}",
    "{where}: {problem}": "{where}: {problem}",
    "cannot read: {reason}": "読めません: {reason}",
    "not valid TOML: {reason}": "TOML として読めません: {reason}",
    "unknown key": "知らない項目です",
    "no such file (make one with `omnitui init`)": "ファイルがありません(`omnitui init` で作れます)",
    "missing key": "必要な項目がありません",
    'on = "no_reply" needs after (like "30m")': 'on = "no_reply" には after が必要です("30m" など)',
    'after is only for on = "no_reply"': 'after は on = "no_reply" のときだけ使えます',
    "the rule does nothing: give at least one key in [rule.then]": (
        "このルールは何もしません: [rule.then] に項目を一つ以上書いてください"
    ),
    "${number} is used but the rule's regex has {groups} groups": (
        "${number} が使われていますが、ルールの正規表現のグループは {groups} 個です"
    ),
    "tag: {tags}": "タグ: {tags}",
    "assign to {agent}": "{agent} に割り当て",
    "assign round robin: {agents}": "順番に割り当て: {agents}",
    "reply with canned reply /{shortcut}": "定型文 /{shortcut} で返信",
    "set status: {status}": "状態を {status} に",
    "notify every console": "すべてのコンソールに通知",
    "set profile field {field} = {value}": "プロフィール項目 {field} = {value}",
    "hand off to a person: no more automatic replies": "担当者に引き継ぎ: 自動返信を止めます",
    "stop: later rules do not run": "停止: 後のルールは動きません",
    "warning: rule {rule} replies with /{shortcut}, which is no canned reply": (
        "注意: ルール {rule} の返信 /{shortcut} という定型文はありません"
    ),
    "customer: {name}": "顧客: {name}",
    "customer: unknown ({address})": "顧客: 不明({address})",
    "{rule} (on {event}):": "{rule}({event} のとき):",
    "no rule fires": "動くルールはありません",
    # -- automation in the console: ⚙ lines, notices, the rules screen --
    "tagged {tags}": "タグ付け: {tags}",
    "assigned to {agent}": "{agent} に割り当て",
    "replied /{shortcut}": "/{shortcut} で返信",
    "reply /{shortcut} not sent: {reason}": "/{shortcut} の返信は送っていません: {reason}",
    "reply not sent: {reason}": "返信は送っていません: {reason}",
    "the customer's message was automatic ({why})": "お客様のメッセージが自動送信でした({why})",
    "the customer's message was automatic": "お客様のメッセージが自動送信でした",
    "the customer was handed to a person": "担当者に引き継ぎ済みです",
    "an agent ({why}) is answering": "担当者({why})が対応中です",
    "an agent is answering": "担当者が対応中です",
    "{why} automatic replies today already": "今日の自動返信はもう {why} 回送りました",
    "the day's automatic replies were sent already": "今日の自動返信はもう上限まで送りました",
    "no channel to answer on": "返信できるチャネルがありません",
    "no such canned reply": "その定型文はありません",
    "no value for {why}": "{why} に入れる値がありません",
    "a placeholder has no value": "差し込み項目に入れる値がありません",
    "marked {status}": "状態を{status}に",
    "notified every console": "すべてのコンソールに通知",
    "handed to a person": "担当者に引き継ぎ",
    "later rules skipped": "後のルールは実行せず",
    "asked for no more broadcasts with the unsubscribe link": "配信停止リンクから配信停止を申し込み",
    "nothing to do": "何もしていません",
    "message": "メッセージ",
    "new conversation": "新しい会話",
    "no reply": "返信なし",
    "satisfaction answer": "満足度の回答",
    "on {event}": "{event}のとき",
    "no answer for {time}": "{time} 返信がないとき",
    "text has {words}": "本文に {words}",
    " or ": " か ",
    "message is {words}": "メッセージが {words}",
    "matches {pattern}": "正規表現 {pattern} に一致",
    "on {channels}": "チャネル: {channels}",
    "while open": "営業時間内",
    "while closed": "営業時間外",
    "customer tagged {tags}": "お客様のタグ: {tags}",
    "language {languages}": "言語: {languages}",
    "rating {ratings}": "評価: {ratings}",
    "once per customer in {time}": "同じお客様には {time} に1回まで",
    "rule": "ルール",
    "7 days": "7日間",
    "last fired": "最後の実行",
    "today {time}": "今日 {time}",
    "yesterday {time}": "昨日 {time}",
    "no longer in config.toml": "config.toml にはもうありません",
    "No automation rules yet.": "自動化ルールはまだありません。",
    "Rules live in config.toml as [[rule]] tables: a keyword that tags and assigns, "
    "an answer when the shop is closed, a numbered menu, a hand-off to a person. "
    'The README\'s "Automation rules" section shows the first six a shop needs; '
    "`omnitui rules test TEXT` tries them without changing anything.": (
        "ルールは config.toml に [[rule]] として書きます: キーワードでタグ付けと割り当て、"
        "営業時間外の自動返信、番号メニュー、担当者への引き継ぎなど。"
        "README の「Automation rules」の節に、お店がまず必要な6つの例があります。"
        "`omnitui rules test 文章` で、何も変えずに試せます。"
    ),
    "Automation rules": "自動化ルール",
    "hits in the last 7 days · esc close": "数は直近7日間の実行回数 · esc 閉じる",
    "esc close": "esc 閉じる",
    "Rule fired": "ルールが動きました",
    "a rule": "ルール",
    "Automation rules and their hits": "自動化ルールと実行回数",
    "Rules": "ルール",
    "The automation rules: what each does, hits in the last 7 days": (
        "自動化ルール: それぞれの動作と直近7日間の実行回数"
    ),
    "{what}: environment variable {variable} is not set": (
        "{what}: 環境変数 {variable} が設定されていません"
    ),
    "{what}: command {command} failed: {reason}": "{what}: コマンド {command} が失敗しました: {reason}",
    "{what}: command {command} exited {code} with no secret": (
        "{what}: コマンド {command} は終了コード {code} で、秘密の値を返しませんでした"
    ),
    "not an email address: {address}": "メールアドレスではありません: {address}",
    "not a phone number: {address} ({reason})": "電話番号ではありません: {address}({reason})",
    "not a possible phone number: {address}": "ありえない電話番号です: {address}",
    "not a Telegram user id: {address}": "Telegram のユーザー ID ではありません: {address}",
    "not a LINE user id: {address}": "LINE のユーザー ID ではありません: {address}",
    "no channel set up in config.toml to broadcast on": "config.toml に一斉送信できる連絡手段がありません",
    "add --yes to send without being asked (or --dry-run to look first)": "確認なしで送るには --yes を付けてください（先に確かめるなら --dry-run）",
    "--at {value}: give a time (18:30, 18:30:15), a delay (+10m, +30s) "
    "or a date and time (2026-12-24 09:00)": "--at {value}: 時刻（18:30、18:30:15）、待ち時間（+10m、+30s）か日時（2026-12-24 09:00）を指定してください",
    "--channel {value}: one of email, telegram, sms, line": "--channel {value}: email、telegram、sms、line のどれかです",
    "{file}: {size} is more than a broadcast image may be (10 MB)": "{file}: {size} は一斉送信の画像の上限（10 MB）を超えています",
    "{file}: not a JPEG or PNG image": "{file}: JPEG か PNG の画像ではありません",
    "--image {reason}": "--image {reason}",
    "--image {file}: {reason}": "--image {file}: {reason}",
    "text only — set [broadcast] public_url to send the image": "文章のみ — 画像も送るには [broadcast] public_url を設定してください",
    "text only — Twilio sends MMS only from US and Canadian numbers ({number})": "文章のみ — Twilio の MMS は米国・カナダの番号からしか送れません（{number}）",
    "no canned reply {shortcut} (`omnitui canned export -` lists them)": "定型文 {shortcut} がありません（`omnitui canned export -` で一覧できます）",
    "Dry run: nothing was sent.": "試行のみ: 何も送っていません。",
    "Nobody to send to.": "送る相手がいません。",
    "Not sent.": "送信しませんでした。",
    "Broadcast {title} to {tags}: {count} customer(s)": "一斉送信 {title} → {tags}: {count} 人",
    "Send it to {count} customer(s)? [y/N] ": "{count} 人に送りますか？ [y/N] ",
    "sending": "送信中",
    "Skipped {count}:": "送らない {count} 人:",
    "skipped": "送らない",
    "{account}: this broadcast needs {count} LINE pushes and {left} are left this month; narrow it (--channel, --language, a tag) or raise the plan": "{account}: この一斉送信には LINE のプッシュが {count} 通必要ですが、今月の残りは {left} 通です。相手を絞る（--channel、--language、タグ）か、プランを上げてください",
    "Sending through the OmniTUI process that runs the channels (pid {pid}).": "連絡手段を動かしている OmniTUI（pid {pid}）から送ります。",
    "Broadcast {number} is scheduled for {when}: `omnitui serve` (or an open console) sends it then; none runs the channels now.": "一斉送信 {number} は {when} に予約しました。その時に `omnitui serve`（または開いているコンソール）が送ります。今は連絡手段を動かしているものがありません。",
    "Broadcast {number} is scheduled for {when}.": "一斉送信 {number} は {when} に予約しました。",
    "skipped {count}": "送らない {count} 人",
    "{failed} failed": "{failed} 件失敗",
    "cancelled: {count} not sent": "取り消し: {count} 件は送っていません",
    "no channel set up reaches them": "設定された連絡手段では届きません",
    "opted out of every channel that could reach them": "届く連絡手段はすべて配信停止済みです",
    "asked for no more broadcasts": "一斉送信の停止を希望しています",
    "no consent to marketing email recorded": "広告メールの同意が記録されていません",
    "the canned reply needs what their profile lacks": "定型文に必要な項目がプロフィールにありません",
    "not in the language asked for": "指定の言語ではありません",
    "cancelled before it was sent": "送る前に取り消しました",
    "no broadcast {number}": "一斉送信 {number} はありません",
    "Broadcasts": "一斉送信",
    "#{number} {canned}, {when}": "#{number} {canned}（{when}）",
    "(cancelled)": "（取り消し）",
    "({count} still to send)": "（あと {count} 件）",
    "failed": "失敗",
    "total": "合計",
    "skipped {count}: {reasons}": "送らない {count} 人: {reasons}",
    "this broadcast is already under way (broadcast {number})": "この一斉送信はすでに進行中です（一斉送信 {number}）",
    "Not sent: LINE takes files only from a public web address; send a link, or ctrl+t picks email or Telegram": "送信されませんでした: LINE は公開された URL のファイルしか受け取れません。リンクを送るか、ctrl+t でメールか Telegram を選んでください",
    "blocked the shop's LINE account": "LINE でブロック中",
    "LINE takes files only from a public web address: send the file by email, or a link to it": "LINE はファイルを公開された URL からしか受け取れません。メールで送るか、ファイルへのリンクを送ってください",
    "the reply is too long for LINE ({count} characters, at most {limit})": "LINE には長すぎる返信です（{count} 字、最大 {limit} 字）",
    "LINE did not confirm the reply ({reason}); it may have arrived: look in LINE before sending it again": "LINE が返信の受け付けを確認しませんでした（{reason}）。届いている可能性があります。もう一度送る前に LINE で確かめてください",
    "not sent: the LINE account's monthly message quota is used up (pushes are counted; a reply within a minute of the customer's message is not)": "送信されませんでした: LINE アカウントの今月のメッセージ通数を使い切りました（プッシュは数えられます。お客様のメッセージから1分以内の応答は数えられません）",
    "not sent yet: {reason}": "まだ送信されていません: {reason}",
    "the body has no list of events": "本文にイベントの一覧がありません",
    "the event has no {what}": "イベントに {what} がありません",
    "an event is not an object": "イベントがオブジェクトではありません",
    # -- channel adapters (omnitui.adapters) --
    "30003: the handset is unreachable (switched off or out of range)": (
        "30003: 相手の端末に届きません(電源が切れているか圏外です)"
    ),
    "cannot reach {server}: {reason}": "{server} につながりません: {reason}",
    "the mail server refused the address: {reasons}": "メールサーバーが宛先を拒否しました: {reasons}",
    "the mail server said {code} {reason}": "メールサーバーの応答: {code} {reason}",
    "connection lost while sending: {reason}": "送信中に接続が切れました: {reason}",
    "IMAP login refused for {user}: {reason}": "{user} の IMAP ログインが拒否されました: {reason}",
    "the mail server refused the login: {code} {reason}": (
        "メールサーバーがログインを拒否しました: {code} {reason}"
    ),
    "Twilio refused it: {reason}": "Twilio が受け付けませんでした: {reason}",
    "{reason}: it may or may not have been sent, so it is not sent again by itself": (
        "{reason}: 送信されたかどうかわからないため、自動では送り直しません"
    ),
    "{name} is not a count ({raw})": "{name} が数ではありません ({raw})",
    "Twilio is unavailable ({reason})": "Twilio が利用できません ({reason})",
    "Twilio failed ({reason}): it may or may not have taken the message, "
    "so it is not sent again by itself": (
        "Twilio でエラーになりました ({reason})。受け付けられたかどうかわからないため、"
        "自動では送り直しません"
    ),
    "not sent: an SMS can be at most {limit} characters": (
        "送信していません: SMS は {limit} 文字までです"
    ),
    "not sent: {address} is not a phone number ({why})": (
        "送信していません: {address} は電話番号ではありません ({why})"
    ),
    "cannot read the auth token: {reason}": "認証トークンを読めません: {reason}",
    "only {done} of {total} parts went out, then: {reason}. "
    "Sending again would repeat the first part(s)": (
        "{total} 件のうち {done} 件だけ送信したところで止まりました: {reason}。"
        "送り直すと最初の部分がもう一度送られます"
    ),
    "another program is polling this bot, or a webhook is set: Telegram gives a bot's "
    "messages to one receiver only (is `omnitui serve` or another bot program running "
    "with this token?). Telegram said: {detail}": (
        "別のプログラムがこのボットを受信しているか、Webhook が設定されています。"
        "Telegram はボットのメッセージを一か所にしか渡しません"
        "(`omnitui serve` や別のボットプログラムが同じトークンで動いていませんか?)。"
        "Telegram の応答: {detail}"
    ),
    "the JSON is not an update (no integer update_id)": (
        "JSON が update ではありません (整数の update_id がありません)"
    ),
    "a webhook is set ({url}), so Telegram refuses polling for this bot: "
    "another program may be receiving its messages. If OmniTUI should receive "
    'them, remove that webhook (deleteWebhook) or set mode = "webhook"': (
        "Webhook が設定されている ({url}) ため、Telegram はこのボットのポーリングを拒否します。"
        "別のプログラムがメッセージを受信しているかもしれません。OmniTUI で受信するなら、"
        'その Webhook を削除する (deleteWebhook) か mode = "webhook" にしてください'
    ),
    "the JSON is nested deeper than {depth} levels": "JSON の入れ子が {depth} 段より深いです",
    "the body is not UTF-8": "本文が UTF-8 ではありません",
    "the JSON holds text that is not Unicode": "JSON に Unicode ではない文字列があります",
    "the body is not JSON": "本文が JSON ではありません",
    '[[telegram]] {name}: mode = "webhook" needs secret_env, '
    "the variable holding the secret Telegram sends with every update": (
        '[[telegram]] {name}: mode = "webhook" には secret_env '
        "(Telegram が毎回送る秘密の値を入れた環境変数) が必要です"
    ),
    "[[telegram]] {name}: environment variable {variable} must hold "
    "1-256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule for a webhook secret)": (
        "[[telegram]] {name}: 環境変数 {variable} は A-Z, a-z, 0-9, _, - の 1〜256 文字に"
        "してください (Telegram の Webhook の秘密の値の決まり)"
    ),
    '[[telegram]] {name}: mode = "webhook" needs webhook_url (the public '
    'HTTPS URL) and webhook_listen ("host:port" to listen on)': (
        '[[telegram]] {name}: mode = "webhook" には webhook_url (公開 HTTPS URL) と '
        'webhook_listen (待ち受ける "host:port") が必要です'
    ),
    "the reply is empty": "返信が空です",
    "cannot listen on {listen}: {reason}": "{listen} で待ち受けられません: {reason}",
    "not sent: {reason}": "送信していません: {reason}",
    "{address} is not a Telegram chat this bot can write to": (
        "{address} はこのボットが書き込める Telegram のチャットではありません"
    ),
    "Telegram refused the bot token of {name}: "
    "check token_env or token_cmd (the token comes from @BotFather)": (
        "Telegram が {name} のボットトークンを拒否しました: "
        "token_env か token_cmd を確かめてください (トークンは @BotFather で取得します)"
    ),
    "Telegram refused the bot token of {name}: check token_env or token_cmd": (
        "Telegram が {name} のボットトークンを拒否しました: token_env か token_cmd を確かめてください"
    ),
    "Telegram's flood control asked to wait {seconds:.0f} s": (
        "Telegram の送信制限で {seconds:.0f} 秒待つよう求められました"
    ),
    "not stored within {seconds:g} s": "{seconds:g} 秒以内に保存できませんでした",
    "in worker {pid}: {reason}": "ワーカー {pid} で: {reason}",
    "the worker processes were stopped": "ワーカープロセスは止められました",
    "worker {pid} was stopped": "ワーカー {pid} は止められました",
    "worker {pid} {ended}": "ワーカー {pid}: {ended}",
    "worker {pid} answered garbage: {reason}": "ワーカー {pid} の応答が読めません: {reason}",
    "cannot start a worker process: {reason}": "ワーカープロセスを起動できません: {reason}",
    # -- channel health (omnitui.domain.health) --
    "{folder}: disconnected ({reason}); retrying in {seconds:.0f} s": (
        "{folder}: 接続が切れました({reason})。{seconds:.0f} 秒後にもう一度つなぎます"
    ),
    "disconnected ({reason}); retrying in {seconds:.0f} s": (
        "接続が切れました({reason})。{seconds:.0f} 秒後にもう一度つなぎます"
    ),
    "{reason}; retrying in {seconds:.0f} s": "{reason}。{seconds:.0f} 秒後にもう一度試します",
    "cannot catch up on missed webhooks: {reason}; retrying in {seconds:.0f} s": (
        "届かなかった Webhook を取り込めません: {reason}。{seconds:.0f} 秒後にもう一度試します"
    ),
    # -- omnitui report (report_commands.py) --
    "OmniTUI report: {since} – {until} ({timezone})": (
        "OmniTUI レポート: {since} – {until} ({timezone})"
    ),
    "Times are business hours (--calendar for wall-clock).": (
        "時間は営業時間で数えています (--calendar で暦どおりの時間)。"
    ),
    "Times are wall-clock.": "時間は暦どおりの時間です。",
    "Conversations": "会話",
    "{n} ({resolved} resolved, {unanswered} not answered yet)": (
        "{n} (対応済み {resolved}、まだ返信なし {unanswered})"
    ),
    "Customer messages": "お客様からのメッセージ",
    "Replies by people": "担当者の返信",
    "{n} (automatic replies: {auto})": "{n} (自動返信: {auto})",
    "First response": "最初の返信まで",
    "Resolution": "対応済みまで",
    "Satisfaction (CSAT)": "満足度 (CSAT)",
    "Per channel": "連絡手段ごと",
    "Per agent": "担当者ごと",
    "Per tag": "タグごと",
    "Per day": "日ごと",
    "Waiting now, longest first": "いま返信を待っているお客様 (長い順)",
    "nobody": "いません",
    "(unassigned)": "(担当なし)",
    "({agents} writing)": "({agents} が入力中)",
    "… and {n} more": "… ほか {n} 人",
    "channel": "連絡手段",
    "agent": "担当者",
    "tag": "タグ",
    "day": "日付",
    "conv.": "会話",
    "in": "受信",
    "out": "返信",
    "1st resp.": "最初の返信",
    "resolution": "対応済み",
    "CSAT": "満足度",
    "none yet": "まだありません",
    "median {median}, p90 {p90} ({n} conversations)": (
        "中央値 {median}、90 パーセンタイル {p90} ({n} 件の会話)"
    ),
    "no answers yet": "まだ回答がありません",
    "{average:.2f} from {n} answers ({spread})": "平均 {average:.2f} ({n} 件の回答: {spread})",
    "{n}s": "{n}秒",
    "{h}h {m:02d}m": "{h}時間{m}分",
    "{d}d {h}h": "{d}日{h}時間",
    "the period is empty: --until ({until}) is not after --since ({since})": (
        "期間が空です: --until ({until}) が --since ({since}) より後ではありません"
    ),
    "{option} {value} is not a date (2026-12-01), a time (2026-12-01 09:00) "
    "or a span back from now (7d, 12h, today, yesterday)": (
        "{option} {value} は日付 (2026-12-01)、日時 (2026-12-01 09:00)、"
        "今からさかのぼる期間 (7d, 12h, today, yesterday) のどれでもありません"
    ),
    "no store at {path} yet: nothing to report": (
        "{path} に保存ファイルがまだありません: レポートするものがありません"
    ),
    # The store (StoreError, StoreBusy, StoreUnusable, SchemaTooNew).
    "the store was busy (another process was writing to it) for {seconds} s": (
        "ほかのプロセスが書き込み中で、{seconds} 秒のあいだ保存できませんでした"
    ),
    "no {kind} identity {address} for a sent reply": (
        "送った返信の宛先 {address} ({kind}) が見つかりません"
    ),
    "no contact {contact}": "お客様 {contact} が見つかりません",
    "{kind} {address} already belongs to contact {contact}": (
        "{kind} {address} はすでにお客様 {contact} のものです"
    ),
    "snoozing needs a time to wake up": "スヌーズには再開する時刻が必要です",
    "only a failed or unknown reply can be retried": (
        "送り直せるのは、送れなかった返信か、届いたか不明の返信だけです"
    ),
    "this is the contact's only identity: nothing to split off": (
        "このお客様の連絡先はこれだけなので、分けられません"
    ),
    "a canned reply needs a shortcut and a text": "定型文には呼び出し名と本文が必要です",
    "a contact cannot be merged into itself": "同じお客様どうしはまとめられません",
    "that merge is not there to undo": "元に戻すまとめが見つかりません",
    "that identity is not there": "その連絡先は見つかりません",
    "contact {contact} is not there to merge": "まとめる相手 ({contact}) が見つかりません",
    "Cc and Bcc are for email, not {channel}": "Cc と Bcc はメールだけのもので、{channel} には使えません",
    "{field}: not an email address: {addresses}": "{field}: メールアドレスではありません: {addresses}",
    "this customer has no {channel} address to reply to": (
        "このお客様には {channel} の返信先がありません"
    ),
    "this customer opted out of {channel}": "このお客様は {channel} の配信を停止しています",
    "this customer blocked the shop's LINE account": (
        "このお客様は LINE 公式アカウントをブロックしています"
    ),
    "/{shortcut} already exists for language {language}": (
        "/{shortcut} はすでにあります (言語: {language})"
    ),
    "the note is empty": "メモが空です",
    "the store at {url} cannot be used: {why}": "{url} のストアを使えません: {why}",
    "the store at {url} cannot be used: the server refused the login ({why})": (
        "{url} のストアを使えません: サーバーがログインを拒否しました ({why})"
    ),
    "the store at {url} cannot be used: the server cannot be reached ({why})": (
        "{url} のストアを使えません: サーバーに接続できません ({why})"
    ),
    "the store's server did not answer: {why}": "ストアのサーバーが応答しません: {why}",
    "that is in the store already: {why}": "ストアにすでにあります: {why}",
    "the connection to the store's server had dropped": "ストアのサーバーとの接続が切れていました",
    "that customer is not there any more": "そのお客様はもういません",
    "{path} has schema revision {revision}, newer than this OmniTUI knows ({head}); "
    "upgrade OmniTUI to open it": (
        "{path} のスキーマ版 {revision} は、この OmniTUI が知る版 ({head}) より新しいです。"
        "開くには OmniTUI を更新してください"
    ),
    "[store] group {group} does not exist": "[store] グループ {group} がありません",
    "{path}: cannot create or open it: {reason}": "{path}: 作ることも開くこともできません: {reason}",
    "{path}: not an OmniTUI store: the file is not a SQLite database": (
        "{path}: OmniTUI の保存ファイルではありません (SQLite のデータベースではありません)"
    ),
    "{path}: the store file is damaged ({reason}); restore it from a backup": (
        "{path}: 保存ファイルが壊れています ({reason})。バックアップから戻してください"
    ),
    "{path}: the store is read-only for this user "
    "(check the file's and the folder's permissions)": (
        "{path}: このユーザーには読み取り専用です (ファイルとフォルダの権限を確かめてください)"
    ),
    "{path}: cannot open it (does the folder exist, and may this user write there?)": (
        "{path}: 開けません (フォルダはありますか? このユーザーはそこに書き込めますか?)"
    ),
    "{path}: cannot use it: {reason}": "{path}: 使えません: {reason}",
    "{path}: {reason}": "{path}: {reason}",
    # omnitui store copy: a shop's SQLite store moved to PostgreSQL.
    "customers": "お客様",
    "addresses": "連絡先",
    "messages": "メッセージ",
    "search index": "検索インデックス",
    "attachments": "添付ファイル",
    "canned replies": "定型文",
    "channel cursors": "チャネルの取得位置",
    "change log": "変更履歴",
    "merges": "統合",
    "merged profile values": "統合で残したプロフィール値",
    "agents typing": "入力中の担当者",
    "channel problems": "チャネルの問題",
    "drafts": "下書き",
    "automation events": "自動化のイベント",
    "rules fired": "実行されたルール",
    "rule timers": "ルールのタイマー",
    "hourly counts": "時間ごとの件数",
    "broadcasts": "一斉送信",
    "broadcast recipients": "一斉送信の宛先",
    "--to {url} is not a PostgreSQL URL (postgresql://user@host/database)": (
        "--to {url} は PostgreSQL の URL ではありません (postgresql://ユーザー@ホスト/データベース)"
    ),
    "--batch must be at least 1": "--batch は 1 以上にしてください",
    "--password-env {variable}: the environment variable is not set": (
        "--password-env {variable}: この環境変数が設定されていません"
    ),
    "there is no store at {path} to copy ([store] path)": (
        "{path} にコピーするストアがありません ([store] path)"
    ),
    "{path} is not an OmniTUI store": "{path} は OmniTUI のストアではありません",
    "{path} cannot be read: {why}": "{path} を読めません: {why}",
    "the channels of {path} are running (pid {pid}): a message arriving during the copy would "
    "be missed. Stop `omnitui serve` and the consoles first": (
        "{path} のチャネルが動いています (pid {pid})。コピー中に届いたメッセージが移りません。"
        "先に `omnitui serve` とコンソールを止めてください"
    ),
    "the channels of the store at {url} are running ({holder}): stop that `omnitui serve` "
    "before copying into it": (
        "{url} のストアのチャネルが動いています ({holder})。コピーする前にその "
        "`omnitui serve` を止めてください"
    ),
    "the database at {url} holds other data ({table}: {detail}): another shop's store, or this "
    "store has changed since an earlier copy began. Copy into a new, empty database": (
        "{url} のデータベースには別のデータがあります ({table}: {detail})。別のお店のストアか、"
        "前回のコピーを始めてからこのストアが変わっています。新しい空のデータベースにコピーしてください"
    ),
    "the connection to {url} was lost ({why}): run the same command again to carry on where "
    "the copy stopped": (
        "{url} との接続が切れました ({why})。同じコマンドをもう一度実行すると、"
        "止まったところから続けます"
    ),
    "the copy was interrupted: run the same command again to carry on where it stopped": (
        "コピーを中断しました。同じコマンドをもう一度実行すると、止まったところから続けます"
    ),
    "the counts differ: run the same command again to carry on where the copy stopped": (
        "件数が合いません。同じコマンドをもう一度実行すると、止まったところから続けます"
    ),
    "Copying {path} to {url}": "{path} を {url} にコピーします",
    "PostgreSQL refused a row of {table}: {why}": "PostgreSQL が {table} の行を受け付けませんでした: {why}",
    'Copied: every table has its rows. Set [store] url = "{url}" on every machine '
    "(README: Moving a shop to PostgreSQL).": (
        'コピーしました。すべての表の件数が合っています。各マシンで [store] url = "{url}" '
        "を設定してください (README の「Moving a shop to PostgreSQL」)。"
    ),
    "{path} has an older schema ({revision}): copying from an upgraded snapshot of it in "
    "{folder}": (
        "{path} のスキーマは古い版 ({revision}) です。{folder} に作った更新済みの複製からコピーします"
    ),
    "Reports: how the shop is doing": "レポート：お店の状況",
    "Reports": "レポート",
    "How the shop is doing: conversations, response times, satisfaction": "お店の状況：会話数、応答時間、満足度",
    "░ few … █ most customer messages in that hour": "░ 少ない … █ 多い（その時間帯のお客様のメッセージ）",
    "conversations": "会話",
    "first response": "初回応答",
    "replies": "返信",
    "first resp.": "初回応答",
    "Today": "今日",
    "Last 7 days": "過去7日",
    "Last 30 days": "過去30日",
    "{n} s": "{n} 秒",
    "{n} min": "{n} 分",
    "{h} h {m:02d}": "{h} 時間 {m:02d} 分",
    "{d} d {h} h": "{d} 日 {h} 時間",
    "median {median} · p90 {p90}": "中央値 {median} · p90 {p90}",
    "{average:.1f} ★ ({n} answers)": "{average:.1f} ★（回答 {n} 件）",
    "Messages": "メッセージ",
    "Satisfaction": "満足度",
    "Waiting now": "いま返信待ち",
    "Key figures": "主な数字",
    "Customer messages per day": "日ごとのお客様のメッセージ",
    "When customers write": "お客様が書く時間帯",
    "First response and resolution, median per day": "初回応答と解決までの時間（日ごとの中央値）",
    "Satisfaction answers": "満足度の回答",
    "Agents": "担当者",
    "today": "今日",
    "last 7 days": "過去7日",
    "last 30 days": "過去30日",
    "{n} (resolved {resolved}, unanswered {unanswered})": "{n}（解決 {resolved}・未返信 {unanswered}）",
    "in {n_in} · out {n_out} · automatic {auto}": "受信 {n_in} · 送信 {n_out} · 自動 {auto}",
    "nobody yet": "まだ誰も",
    "business hours": "営業時間で計算",
    "wall-clock time": "実時間で計算",
    "{n} (longest {longest})": "{n}（最長 {longest}）",
    "1 today · 7 last 7 days · 3 last 30 days · esc close": "1 今日 · 7 過去7日 · 3 過去30日 · esc 閉じる",
    # QR codes (omnitui qr, the QR screen)
    "its `from` has no address": "`from` にアドレスがありません",
    "SMS is one-way in Japan: Japanese mobiles cannot send an SMS to {number} "
    "(customers can answer on another channel)": "日本では SMS は送信のみです。"
    "日本の携帯電話は {number} に SMS を送れません"
    "（お客様はほかのチャネルで返信できます）",
    "not known yet — the channel has not connected": "まだわかりません — このチャネルはまだ接続していません",
    "--source {source!r}: use up to 64 letters, digits, _ and - "
    "(Telegram allows no other characters in a start link)": "--source {source!r}: "
    "英字・数字・_・- を64文字までで指定してください（Telegram の開始リンクはほかの文字を使えません）",
    "could not write the poster to {path}: {reason}": "ポスターを {path} に書けませんでした: {reason}",
    "no font with Japanese characters was found for the PNG poster: install one "
    "(Debian: fonts-noto-cjk or fonts-ipafont-gothic), or write an SVG poster (--svg)": "PNG "
    "ポスター用の日本語フォントが見つかりません。フォントを入れる（Debian: fonts-noto-cjk か "
    "fonts-ipafont-gothic）か、SVG のポスター（--svg）にしてください",
    "no code": "コードなし",
    "No channels in the config: add [[email]], [[telegram]], [[sms]] or [[line]].": "設定に"
    "チャネルがありません。[[email]]、[[telegram]]、[[sms]]、[[line]] のどれかを加えてください。",
    "Poster written to {path}": "ポスターを {path} に書きました",
    "▶ started the chat (from the {source} QR code)": "▶ {source} の QR コードからチャットを始めました",
    "▶ started the chat": "▶ チャットを始めました",
    "QR codes: customers scan one to start a chat": "QR コード: お客様が読み取るとチャットが始まります",
    "A poster to print: omnitui qr --source counter --png poster.png · esc close": "印刷用ポスター: "
    "omnitui qr --source counter --png poster.png · esc 閉じる",
    "QR codes to start a chat": "チャットを始める QR コード",
    "QR codes": "QR コード",
    "Each channel's link and QR code: customers scan one to start a chat": "各チャネルのリンクと "
    "QR コード: お客様が読み取るとチャットが始まります",
    # -- broadcasts in the console (omnitui.screens.broadcast) --
    "{done}/{total} sent": "{done}/{total} 件送信",
    "ctrl+p: Cancel the broadcast": "ctrl+p: 一斉送信を取り消す",
    "Broadcasts go to the customers with a tag: pick a tag": "一斉送信はタグの付いたお客様に送ります。タグを選んでください",
    "Broadcast to #{tag} ({count} customers): pick a canned reply": "#{tag}（お客様 {count} 人）に一斉送信: 定型文を選んでください",
    "type to filter · ↑↓ move · enter look before sending · esc back": "入力で絞り込み · ↑↓ 移動 · enter 送る前に確認 · esc 戻る",
    "{account}: this broadcast needs {count} LINE pushes and {left} are left this month; pick a smaller tag or raise the plan": "{account}: この一斉送信には LINE のプッシュが {count} 通必要ですが、今月の残りは {left} 通です。人数の少ないタグを選ぶか、プランを上げてください",
    "Broadcast {title} to #{tag}": "一斉送信 {title} → #{tag}",
    "esc back": "esc 戻る",
    "y send it to {count} customers · ctrl+o add an image · esc back": "y お客様 {count} 人に送る · ctrl+o 画像を添える · esc 戻る",
    "Add an image": "画像を添える",
    "An image for the broadcast (JPEG or PNG, at most 10 MB)": "一斉送信に添える画像（JPEG か PNG、10 MB まで）",
    "e.g. ~/Pictures/poster.jpg": "例: ~/Pictures/poster.jpg",
    "enter adds it · an empty path takes the image off · esc cancels": "enter 添える · 空のパスで画像を外す · esc 取り消し",
    "{count} customers get it:": "送る相手: {count} 人",
    "What {name} gets ({channel}):": "{name} さんに届く内容（{channel}）:",
    "broadcast": "一斉送信",
    "not yet sent": "未送信",
    "No broadcasts yet.": "一斉送信はまだありません。",
    "cancelled": "取り消し済み",
    "Cancel the broadcast {title}? {count} not yet sent stay unsent.": "一斉送信 {title} を取り消しますか？ まだ送っていない {count} 件は送りません。",
    "y cancel it · n keep sending": "y 取り消す · n 送り続ける",
    "Broadcast {number} is on its way": "一斉送信 {number} を送り始めます",
    "No broadcast is going out.": "送信中の一斉送信はありません。",
    "Broadcast cancelled: {count} not sent": "一斉送信を取り消しました: {count} 件は送っていません",
    "Broadcast to this view…": "このビューに一斉送信…",
    "One canned reply to the customers with this view's tag, after a look": "このビューのタグのお客様に定型文を一斉送信（送る前に確認）",
    "The recent broadcasts: sent, delivered, failed and skipped per channel": "最近の一斉送信: 連絡手段ごとの送信・到着・失敗・送らない人数",
    "Cancel the broadcast": "一斉送信を取り消す",
    "Take back what the broadcast going out has not sent yet": "送信中の一斉送信のうち、まだ送っていない分を取り消す",
    "Send the broadcast": "一斉送信する",
    "Keep sending": "送り続ける",
    "Broadcast to this view": "このビューのお客様に一斉送信",
    # -- issue 20, the local API (omnitui/adapters/api.py): its refusals to a script --
    "a bearer token is needed: Authorization: Bearer <token>": (
        "ベアラートークンが必要です: Authorization: Bearer <token>"
    ),
    "no such path (see /openapi.json)": "そのパスはありません（/openapi.json を参照）",
    "{method} is not answered here": "ここでは {method} に応答しません",
    "the body is over {limit} bytes": "本文が {limit} バイトを超えています",
    "the body did not arrive within {seconds} s": "本文が {seconds} 秒以内に届きませんでした",
    "the store could not answer: {reason}": "ストアが応答できませんでした: {reason}",
    "the request could not be done ({reason})": "リクエストを実行できませんでした ({reason})",
    "this customer has no channel the shop can write on": (
        "このお客様には、お店から送れるチャネルがありません"
    ),
    "no channel {channel} is set up (the shop has: {known})": (
        "チャネル {channel} は設定されていません（設定済み: {known}）"
    ),
    "this customer has not written to that Telegram bot": (
        "このお客様はその Telegram ボットにまだメッセージを送っていません"
    ),
    "this customer has no {kind} address": "このお客様には {kind} の宛先がありません",
    "not sent: this customer blocked the shop's LINE account": (
        "送信していません: このお客様はお店の LINE アカウントをブロックしています"
    ),
    "not sent: this customer blocked the shop's Telegram bot": (
        "送信していません: このお客様はお店の Telegram ボットをブロックしています"
    ),
    "not sent: this customer opted out of SMS (they texted STOP)": (
        "送信していません: このお客様は SMS の受信を停止しています（STOP を送信）"
    ),
    "not sent: this customer opted out of {channel}": (
        "送信していません: このお客様は {channel} の受信を停止しています"
    ),
    "text: an SMS can be at most 1,600 characters": "text: SMS は 1,600 文字までです",
    "after: not a `next` this API gave": "after: この API が返した `next` ではありません",
    "after: only a list without q has pages": "after: ページがあるのは q なしの一覧だけです",
    "tags: give the whole list, or add_tags / remove_tags": (
        "tags: 一覧全体か、add_tags / remove_tags のどちらかを指定してください"
    ),
    "snoozed_until: snoozing needs a time to wake up": (
        "snoozed_until: スヌーズには再開する日時が必要です"
    ),
    "snoozed_until: that time has passed": "snoozed_until: その日時は過ぎています",
    'snoozed_until: goes with status "snoozed"': (
        'snoozed_until: status "snoozed" と一緒に指定してください'
    ),
    "profile: {name} is not a field name": "profile: {name} は項目名ではありません",
    "before: no message {message} in this thread": (
        "before: このスレッドにメッセージ {message} はありません"
    ),
    "message {message} left the thread": "メッセージ {message} はスレッドにありません",
    "no message {message}": "メッセージ {message} はありません",
    # Issue 20, webhooks out: the store's tables as `omnitui store copy` names them.
    "webhooks": "Webhook",
    "webhook deliveries": "Webhook の配信",
    # -- issue 20, channels as plugins (omnitui.adapters.plugin, omnitui.adapters.plugins) --
    "a {channel} cannot carry a reply: answer on another of the customer's channels": (
        "{channel} では返信を送れません。お客様のほかの連絡手段で返信してください"
    ),
    "plugin {name} stopped: {reason}": "プラグイン {name} が止まりました: {reason}",
    "plugin {name} ({target}) failed to load: {reason}": (
        "プラグイン {name} ({target}) を読み込めませんでした: {reason}"
    ),
    "plugin {name} ({target}) is not an OmniTUI channel plugin: it has no {missing}": (
        "プラグイン {name} ({target}) は OmniTUI の連絡手段プラグインではありません ({missing} がありません)"
    ),
    "plugin {name} {version} was written for plugin API {wanted}; this OmniTUI has plugin API {api}: install a version of {package} made for API {api}": (
        "プラグイン {name} {version} はプラグイン API {wanted} 向けですが、この OmniTUI の"
        "プラグイン API は {api} です。API {api} 向けの {package} を入れてください"
    ),
    "plugin {name}: its options are not a pydantic model": (
        "プラグイン {name}: 設定項目の定義が pydantic のモデルではありません"
    ),
    "plugin {name} has an unusable channel kind: {reason}": (
        "プラグイン {name} の連絡手段の種類は使えません: {reason}"
    ),
    "channel kind {kind} is built in with {built_in} addresses, not {identity}": (
        "連絡手段の種類 {kind} は組み込みで、宛先は {identity} ではなく {built_in} です"
    ),
    "not an address: {address}": "宛先ではありません: {address}",
    "no installed plugin is called {adapter} (installed: {names}); install its package into OmniTUI's Python environment": (
        "{adapter} という名前のプラグインは入っていません (入っているもの: {names})。"
        "OmniTUI の Python 環境にそのパッケージを入れてください"
    ),
    "unknown key (plugin {name})": "知らない項目です (プラグイン {name})",
    "missing key (plugin {name})": "必要な項目がありません (プラグイン {name})",
    "plugin {name} could not build channel {channel}: {reason}": (
        "プラグイン {name} は連絡手段 {channel} を作れませんでした: {reason}"
    ),
    "plugin {name} built a channel that is not {channel}": (
        "プラグイン {name} が作った連絡手段は {channel} ではありません"
    ),
}

# Why a reply failed, or what became of a file: OmniTUI stores these in English
# (see i18n.tr_reason). Each English phrase is replaced wherever it appears;
# what a provider said in its own words stays as it said it.
REASON_WORDS: dict[str, str] = {
    # Twilio's error codes, in words (adapters/sms.py ERROR_WORDS).
    "authentication error: wrong account SID or auth token": (
        "認証エラー: Twilio のアカウント SID か認証トークンが違います"
    ),
    "not found at Twilio": "Twilio に見つかりません",
    "rate limited by Twilio (too many requests)": "Twilio への送信が多すぎます",
    "invalid To number": "宛先の電話番号が正しくありません",
    "sending to this country is not enabled on the Twilio account": (
        "Twilio のアカウントでこの国への送信が有効になっていません"
    ),
    "the From number cannot send SMS": "お店の番号から SMS を送れません",
    "the customer replied STOP (unsubscribed)": "お客様が STOP と返信しました (配信停止)",
    "Twilio cannot route SMS between these two numbers": "この2つの番号の間では SMS を送れません",
    "the To number cannot receive SMS": "宛先の番号は SMS を受け取れません",
    "the message is too long (over 1,600 characters)": "メッセージが長すぎます (1,600 字超)",
    "Twilio's queue was full": "Twilio の送信待ちがいっぱいでした",
    "the Twilio account is suspended": "Twilio のアカウントが停止されています",
    "unreachable handset (phone off or out of coverage)": (
        "相手の電話につながりません (電源が切れているか圏外です)"
    ),
    "blocked (by the recipient or their carrier)": "受信を拒否されました (相手か携帯会社による)",
    "unknown handset (the number does not exist)": "存在しない番号です",
    "landline or unreachable carrier": "固定電話か、届かない携帯会社です",
    "carrier filtered (looks like spam to the carrier)": (
        "携帯会社に迷惑メッセージと判断されました"
    ),
    "unknown error from the carrier": "携帯会社から原因不明のエラー",
    "no reason given": "理由の説明なし",
    # The demo's unreachable customer.
    "30003: the handset is unreachable (switched off or out of range)": (
        "相手の電話につながりません (電源が切れているか圏外です) (30003)"
    ),
    # Telegram (adapters/telegram.py).
    "the customer has blocked the shop's bot, so Telegram will not deliver (403)": (
        "お客様がお店のボットをブロックしているため、Telegram は届けません (403)"
    ),
    "the customer's Telegram account was deleted (403)": (
        "お客様の Telegram アカウントは削除されています (403)"
    ),
    "the reply is empty": "返信が空です",
    # The store's refusals (StoreError), shown in toasts.
    "only a failed or unknown reply can be retried": (
        "送り直せるのは、送れなかった返信か、届いたか不明の返信だけです"
    ),
    "this is the contact's only identity: nothing to split off": (
        "このお客様の連絡先はこれだけなので、分けられません"
    ),
    "a canned reply needs a shortcut and a text": "定型文には呼び出し名と本文が必要です",
    "a contact cannot be merged into itself": "同じお客様どうしはまとめられません",
    "that merge is not there to undo": "元に戻すまとめが見つかりません",
    "that identity is not there": "その連絡先は見つかりません",
    # Files.
    "transfer encoding damaged: the file may be incomplete": (
        "ファイルが壊れています: 一部が欠けているかもしれません"
    ),
    "not kept": "保存されていません",
    ": it may or may not have taken the message, so it is not sent again by itself": (
        ": 受け付けられたかどうか分からないため、自動では送り直しません"
    ),
    ": it may or may not have been sent, so it is not sent again by itself": (
        ": 送られたかどうか分からないため、自動では送り直しません"
    ),
}

REASON_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^retrying: "), "送り直します: "),
    (re.compile(r"^/(\S+) already exists for language (.+)$"), r"/\1 はすでにあります (言語: \2)"),
    (re.compile(r"^this customer opted out of (\w+)$"), r"このお客様は \1 の配信を停止しています"),
    (
        re.compile(r"^this customer has no (\w+) address to reply to$"),
        r"このお客様には \1 の返信先がありません",
    ),
    (re.compile(r"^contact (\d+) is not there to merge$"), r"まとめる相手 (\1) が見つかりません"),
    (re.compile(r"^not sent after (\d+) attempts: "), r"\1 回試しましたが送れませんでした: "),
    (re.compile(r"^unexpected error, not retried: "), "思わぬエラーのため送り直しません: "),
    (re.compile(r"^not sent: "), "送信していません: "),
    (re.compile(r"Twilio refused it: "), "Twilio が受け付けませんでした: "),
    (re.compile(r"Twilio is unavailable \((.*)\)$"), r"Twilio が使えません (\1)"),
    (re.compile(r"^Twilio failed \((.*)\): "), r"Twilio でエラー (\1): "),
    (re.compile(r"\(Twilio error (\d+)\)"), r"(Twilio エラー \1)"),
    (re.compile(r"^Twilio error (\d+)$"), r"Twilio エラー \1"),
    (re.compile(r"larger than (\d+) MB: not kept"), r"\1 MB を超えるため保存していません"),
    (re.compile(r"^not downloaded: larger than (.+)$"), r"\1 を超えるためダウンロードしていません"),
    (
        re.compile(r"^Telegram asked to wait (\d+) s \(flood control\)$"),
        r"Telegram から \1 秒待つよう求められました",
    ),
    # A channel's health, as the hub stores it (domain/health.py).
    (
        re.compile(r"^cannot catch up on missed webhooks: (.*); retrying in (\d+) s$"),
        r"届かなかった Webhook を取り込めません: \1。\2 秒後にもう一度試します",
    ),
    (
        re.compile(r"disconnected \((.*)\); retrying in (\d+) s$"),
        r"接続が切れました(\1)。\2 秒後にもう一度つなぎます",
    ),
    (re.compile(r"; retrying in (\d+) s$"), r"。\1 秒後にもう一度試します"),
    # Issue 20, webhooks out: a webhook in trouble (adapters/webhooks_out.py).
    (
        re.compile(
            r"^given up on (\d+) events? \((.*)\); omnitui webhooks replay sends (?:it|them) again$"
        ),
        r"\1 件のイベントを届けられず諦めました(\2)。omnitui webhooks replay で送り直せます",
    ),
    (
        re.compile(r"^(\d+) deliveries failed in a row \((.*)\)$"),
        r"\1 回続けて届けられませんでした(\2)",
    ),
    (re.compile(r"^not sending: "), "送信していません: "),
    (re.compile(r"no answer within ([\d.]+) s"), r"\1 秒以内に応答がありません"),
    (re.compile(r"cannot connect: "), "接続できません: "),
    (
        re.compile(r"the receiver closed the connection before answering"),
        "受信側が応答の前に接続を切りました",
    ),
    (
        re.compile(r"redirected to (.*) \(redirects are not followed\)"),
        r"\1 へのリダイレクト(リダイレクトには従いません)",
    ),
    # issue 20, channels as plugins: a reply put on a channel that cannot carry one.
    (
        re.compile(r"^a (.+) cannot carry a reply: answer on another of the customer's channels$"),
        r"\1 では返信を送れません。お客様のほかの連絡手段で返信してください",
    ),
]
