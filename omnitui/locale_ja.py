"""The console in Japanese: English text (the key) to what a Japanese shop owner reads.

Named fields ({name}, {n}…) are filled after translation and must be kept.
Words in keys such as `enter`, `esc`, `ctrl+s` are keys on the keyboard and
stay as they are. Customer text never passes through here.
"""

from __future__ import annotations

JA: dict[str, str] = {
    # -- keys: the footer, the help screen, the command palette --------------
    "Help": "ヘルプ",
    "Quit": "終了",
    "Commands": "コマンド",
    "Reply": "返信",
    "Canned": "定型文",
    "Search": "検索",
    "Resolve": "解決",
    "Reopen": "再開",
    "Snooze": "スヌーズ",
    "Merge": "統合",
    "Undo last merge into this contact": "この顧客への直前の統合を元に戻す",
    "Retry a failed reply": "失敗した返信を再送",
    "Profile": "プロフィール",
    "Tags": "タグ",
    "Next view": "次のビュー",
    "Views with counts": "ビュー一覧 (件数つき)",
    "Next waiting customer": "次の返信待ちの顧客",
    "Assign to me / unassign": "自分に割り当て / 割り当て解除",
    "Possible duplicates": "重複の可能性",
    "Back": "戻る",
    "Close": "閉じる",
    "Cancel": "キャンセル",
    "Save": "保存",
    "Down": "下へ",
    "Up": "上へ",
    "Send": "送信",
    "Canned reply": "定型文",
    "Channel": "チャネル",
    "Attach a file": "ファイルを添付",
    "New canned reply": "新しい定型文",
    "Edit canned reply": "定型文を編集",
    "Delete canned reply": "定型文を削除",
    "Next message": "次のメッセージ",
    "Previous message": "前のメッセージ",
    "First": "最初へ",
    "Last": "最後へ",
    "Show or fold quoted text": "引用部分の表示 / 折りたたみ",
    "Show the raw source": "元データを表示",
    "Save attachments": "添付ファイルを保存",
    "Insert as is": "このまま挿入",
    "Merge the pair": "この2件を統合",
    "Not the same customer": "別の顧客",
    "Split the identity off": "この連絡先を別の顧客に分離",
    "Switch the kept value": "残す値を切り替え",
    "Keys": "キー操作",
    "Every key on this screen": "この画面のすべてのキー操作",
    "Write a reply to the open customer": "表示中の顧客に返信を書く",
    "Search every message and contact": "すべてのメッセージと顧客を検索",
    "Mark the customer's thread resolved": "この顧客の会話を解決済みにする",
    "Reopen the customer's thread": "この顧客の会話を再開する",
    "Hide the thread until a time": "指定した時刻まで会話を非表示にする",
    "Merge another contact into this one": "別の顧客をこの顧客に統合する",
    "Insert a canned reply": "定型文を挿入する",
    # Textual's own commands in the command palette.
    "Theme": "テーマ",
    "Change the current theme": "画面のテーマを変更",
    "Quit the application as soon as possible": "OmniTUI をすぐに終了",
    "Show help for the focused widget and a summary of available keys": (
        "選択中の欄のヘルプと使えるキーの一覧を表示"
    ),
    "Hide the keys and widget help panel": "キー操作とヘルプの欄を隠す",
    "Minimize": "元のサイズに戻す",
    "Minimize the widget and restore to normal size": "最大化をやめて元のサイズに戻す",
    "Maximize": "最大化",
    "Maximize the focused widget": "選択中の欄を最大化",
    "Screenshot": "スクリーンショット",
    "Save an SVG 'screenshot' of the current screen": "今の画面を SVG で保存",
    # -- help screen -----------------------------------------------------------
    "OmniTUI keys": "OmniTUI のキー操作",
    "where": "場所",
    "key": "キー",
    "does": "操作",
    "anywhere": "どこでも",
    "inbox": "受信箱",
    "contacts": "顧客一覧",
    "thread": "会話",
    "composer": "返信欄",
    "canned pane": "定型文欄",
    "Open the merged thread": "統合された会話を開く",
    "Next / previous pane": "次 / 前の欄へ",
    "Command palette": "コマンドパレット",
    # -- inbox: panes, header, statuses, views ---------------------------------
    "Customers": "顧客",
    "Thread": "会話",
    "Canned replies": "定型文",
    "view": "ビュー",
    "Views": "ビュー",
    "All": "すべて",
    "Mine": "自分の担当",
    "Unassigned": "未割り当て",
    "Waiting": "返信待ち",
    "Snoozed": "スヌーズ中",
    "Resolved": "解決済み",
    "Email": "メール",
    "email": "メール",
    "open": "対応中",
    "pending": "保留中",
    "snoozed": "スヌーズ中",
    "resolved": "解決済み",
    "opted out": "配信停止",
    "contact": "顧客",
    "customer": "顧客",
    "you": "自分",
    "now": "今",
    "{n}m": "{n}分",
    "{n}h": "{n}時間",
    "{n}d": "{n}日",
    "Mon": "月",
    "Tue": "火",
    "Wed": "水",
    "Thu": "木",
    "Fri": "金",
    "Sat": "土",
    "Sun": "日",
    "no tags": "タグなし",
    # -- thread ------------------------------------------------------------------
    "Pick a customer on the left.": "左の一覧から顧客を選んでください。",
    "older messages: scroll up or press k": "以前のメッセージ: 上へスクロールするか k を押す",
    "queued": "送信待ち",
    "sending…": "送信中…",
    "sent": "送信済み",
    "delivered": "配信済み",
    "FAILED": "送信失敗",
    "unknown": "状態不明",
    "edited": "編集済み",
    "no text": "本文なし",
    "quoted text hidden (f shows it)": "引用部分を折りたたみ中 (f で表示)",
    # -- composer ----------------------------------------------------------------
    "No channel to reply on": "返信できるチャネルがありません",
    "Reply via": "返信先",
    "switch": "切替",
    "{who} is replying too": "{who} も返信中",
    "{who} are replying too": "{who} も返信中",
    "{chars} makes it UCS-2": "原因: {chars}",
    "over {limit} characters": "{limit} 文字を超えています",
    "fill in: {placeholders}": "未入力: {placeholders}",
    # -- notifications -----------------------------------------------------------
    "New message": "新着メッセージ",
    "{names} and {n} more": "{names} ほか{n}人",
    "Pick a customer first": "先に顧客を選んでください",
    "This message has no raw source (only email keeps one)": (
        "このメッセージには元データがありません (元データが残るのはメールだけです)"
    ),
    "This message has no attachments": "このメッセージに添付ファイルはありません",
    "Attachments": "添付ファイル",
    "Saved to {folder}: {files}": "{folder} に保存しました: {files}",
    "Not saved: {reason}": "保存していません: {reason}",
    "Saved /{shortcut}": "/{shortcut} を保存しました",
    "Deleted /{shortcut} (canned export keeps a copy in git)": (
        "/{shortcut} を削除しました (canned export で git に控えを残せます)"
    ),
    "Press x again to delete /{shortcut}": "もう一度 x を押すと /{shortcut} を削除します",
    "Fill in {placeholders} before sending": "送信する前に {placeholders} を入力してください",
    "Careful": "注意",
    "{names} is already replying to this customer": "{names} がすでにこの顧客に返信中です",
    "{names} are already replying to this customer": "{names} がすでにこの顧客に返信中です",
    "Nothing to send": "送信する内容がありません",
    "Unresolved placeholder": "未入力の差し込み項目",
    "Not sent: fill in {placeholders} first": "送信していません: 先に {placeholders} を入力してください",
    "This customer has no channel to reply on": "この顧客に返信できるチャネルがありません",
    "Not sent: an SMS can be at most 1,600 characters": (
        "送信していません: SMS は 1,600 文字までです"
    ),
    "Not sent: an SMS from OmniTUI cannot carry files; ctrl+t picks email or Telegram": (
        "送信していません: OmniTUI の SMS ではファイルを送れません。"
        "ctrl+t でメールか Telegram に切り替えてください"
    ),
    "Opted out": "配信停止",
    "Not sent: {reason}": "送信していません: {reason}",
    "Press ctrl+t to reply by {channel} instead.": "ctrl+t で {channel} に切り替えて返信できます。",
    "They have no other channel; texting START opts them back in.": (
        "ほかのチャネルはありません。顧客が START と送ると再び受け取れるようになります。"
    ),
    "Not sent: this customer opted out of {channel} (they texted STOP).": (
        "送信していません: この顧客は {channel} の受信を停止しています (STOP と送信済み)。"
    ),
    "Nobody is waiting for an answer": "返信待ちの顧客はいません",
    "Assigned to {agent}": "{agent} に割り当てました",
    "Not merged: {reason}": "統合していません: {reason}",
    "Merged. Press u to undo.": "統合しました。u で元に戻せます。",
    "No merge into this contact to undo": "この顧客に元に戻せる統合はありません",
    "Merge undone: the other contact is back on its own": (
        "統合を元に戻しました: もう一方の顧客は別の顧客に戻りました"
    ),
    "Queued again": "再送待ちにしました",
    "Channels are run by another OmniTUI process (pid {pid}); this console uses it.": (
        "チャネルは別の OmniTUI プロセス (pid {pid}) が動かしています。"
        "このコンソールはそれを使います。"
    ),
    "The other OmniTUI process stopped: this console now runs the channels.": (
        "別の OmniTUI プロセスが止まりました: このコンソールがチャネルを動かします。"
    ),
    # -- pickers -------------------------------------------------------------------
    "type to filter": "入力して絞り込み",
    "type to filter · ↑↓ move · enter pick · esc cancel": (
        "入力して絞り込み · ↑↓ 移動 · enter 選択 · esc キャンセル"
    ),
    "type to filter · enter pick · esc cancel": "入力して絞り込み · enter 選択 · esc キャンセル",
    "Merge another contact into {name}": "{name} に統合する顧客を選ぶ",
    "Search messages and contacts": "メッセージと顧客を検索",
    "words or Japanese (予約) · ↑↓ move · enter jump · esc cancel": (
        "単語や日本語 (予約) · ↑↓ 移動 · enter 開く · esc キャンセル"
    ),
    "{n} found": "{n} 件",
    "nothing found": "見つかりません",
    "{count} in {ms} ms · ↑↓ move · enter jump · esc cancel": (
        "{count} ({ms} ms) · ↑↓ 移動 · enter 開く · esc キャンセル"
    ),
    "Snooze until…": "スヌーズの終了時刻…",
    "↑↓ move · enter snooze · esc cancel": "↑↓ 移動 · enter スヌーズ · esc キャンセル",
    "1 hour": "1時間後",
    "3 hours": "3時間後",
    "Tomorrow 9:00": "明日 9:00",
    "Next Monday 9:00": "来週月曜 9:00",
    # -- merge preview -------------------------------------------------------------
    "What moves here (nothing is deleted):": "ここに移るもの (削除されるものはありません):",
    "Both have a value: enter or space switches which one is kept": (
        "両方に値があります: enter か space で残す値を切り替え"
    ),
    "The other value is kept as history · y merge · esc cancel · u undoes": (
        "もう一方の値は履歴に残ります · y 統合 · esc キャンセル · u 元に戻す"
    ),
    "1 message": "1 件のメッセージ",
    "{n} messages": "{n} 件のメッセージ",
    "Taken from the other contact: ": "もう一方の顧客から引き継ぐ: ",
    "Tags: ": "タグ: ",
    # -- duplicates ------------------------------------------------------------------
    "a merge (u in the inbox undoes it) · d not the same · esc back": (
        "a 統合 (受信箱の u で元に戻す) · d 別の顧客 · esc 戻る"
    ),
    "No possible duplicates. esc back": "重複の可能性がある顧客はいません。esc 戻る",
    "Merged. u on the contact undoes it.": "統合しました。顧客の上で u を押すと元に戻せます。",
    # -- profile ----------------------------------------------------------------------
    "Name": "名前",
    "First name": "下の名前",
    "Language": "言語",
    "used by {first_name}": "{first_name} で使われます",
    "ja, en… picks canned variants": "ja、en… 定型文の言語を選びます",
    "comma separated": "カンマ区切り",
    "Fields (one `key: value` a line: company, order_id, notes…)": (
        "項目 (1 行に 1 つ `key: value`: company, order_id, notes…)"
    ),
    "Identities (x splits the highlighted one into its own contact)": (
        "連絡先 (x で選択中の連絡先を別の顧客に分離)"
    ),
    "ctrl+s save · tab next field · esc back": "ctrl+s 保存 · tab 次の項目 · esc 戻る",
    "line {n} needs `key: value`": "{n} 行目は `key: value` の形にしてください",
    "never": "なし",
    "last used {age}": "最終利用 {age}",
    "Not saved: a contact needs a name": "保存していません: 名前が必要です",
    "Profile saved": "プロフィールを保存しました",
    "Split off into its own contact; u in the inbox undoes it": (
        "別の顧客として分離しました。受信箱の u で元に戻せます"
    ),
    "Earlier values (from merges):": "以前の値 (統合で置き換わったもの):",
    "from {name}, {age}": "{name} から · {age}",
    "and {n} more": "ほか {n} 件",
    # -- tags ---------------------------------------------------------------------------
    "Tags · {name}": "タグ · {name}",
    "In use: ": "使用中: ",
    "comma separated · enter save · esc cancel": "カンマ区切り · enter 保存 · esc キャンセル",
    # -- canned reply editor and fill-in ---------------------------------------------
    "Shortcut": "ショートカット",
    "Title": "タイトル",
    "thanks  (typed as /thanks)": "thanks  (/thanks と入力して呼び出し)",
    "ja, en… or empty for any": "ja、en… 空欄ならどの言語でも",
    "{first_name|fallback} {name} {agent} {shop} and any profile or [shop] key": (
        "{first_name|fallback} {name} {agent} {shop}、プロフィールや [shop] の任意の項目"
    ),
    "ctrl+s save · esc cancel": "ctrl+s 保存 · esc キャンセル",
    "uses:": "使用:",
    "“{title}” needs:": "「{title}」に必要な値:",
    "enter: next / insert · esc: insert with the {gaps} (sending waits for them)": (
        "enter: 次へ / 挿入 · esc: {gaps} を空けたまま挿入 (埋めるまで送信できません)"
    ),
    # -- attach and raw source -----------------------------------------------------------
    "Attach a file to the reply": "返信にファイルを添付",
    "enter attaches · an empty path removes the attachments · esc cancels": (
        "enter 添付 · 空のまま enter で添付を外す · esc キャンセル"
    ),
    "no such file: {path}": "ファイルがありません: {path}",
    "{name} is {size:.1f} MB; at most 20 MB can be sent": (
        "{name} は {size:.1f} MB です。送れるのは 20 MB までです"
    ),
    "Raw source · {size:,} bytes · esc closes": "元データ · {size:,} バイト · esc 閉じる",
    "Raw source · {size:,} bytes, the first {shown:,} shown · s saves it whole · esc closes": (
        "元データ · {size:,} バイト (先頭 {shown:,} バイトを表示) · s 全体を保存 · esc 閉じる"
    ),
    "Save as a file": "ファイルに保存",
    "Undo: the reply just sent, else the last merge into this contact": (
        "取り消し: 今送った返信、なければこの連絡先への直前の統合"
    ),
    "Too late to undo: the reply is on its way": "取り消せません: 返信はすでに送信中です",
    "Not sent: the reply is back in the composer": "送信を取り消しました。返信は入力欄に戻りました",
    "Undone": "取り消し",
    "Sending in {seconds} s · u to undo": "{seconds} 秒後に送信 · u で取り消し",
    "Edit in $EDITOR": "$EDITOR で編集",
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
    "Not sent: the reply is still loading, try again": "送信していません: 返信を読み込み中です。もう一度お試しください",
    "OmniTUI stopped on an unexpected error; what happened is in {log}": (
        "OmniTUI は予期しないエラーで終了しました。詳しくは {log} にあります"
    ),
    "Switched to the view All to show this customer": "このお客様を表示するため「すべて」に切り替えました",
    "names read alike: {a} / {b}": "名前が似ています: {a} / {b}",
    "wrote {number}, the other's phone number": "もう一方の電話番号 {number} を書いています",
    "Keep on the customer's profile": "お客様のプロフィールに残す",
    "Tag the customer; each tag is a view": "お客様にタグを付けます (タグごとにビューができます)",
    "Every view of the customers with counts": "顧客のビューを件数つきで一覧",
    "Names, language, fields and identities": "名前・言語・項目・連絡先",
    "Contacts that may be the same customer": "同じお客様かもしれない連絡先",
    # -- email replies: subject, Cc / Bcc, reply-all, signature -----------------
    "Edit the subject (email)": "件名を編集 (メール)",
    "Cc and Bcc (email)": "Cc と Bcc (メール)",
    "Reply to all: Cc everyone on the customer's last mail, or not": (
        "全員に返信: お客様の直前のメールの宛先全員を Cc に入れる / 外す"
    ),
    "Reply to all (email): everyone on the customer's last mail in Cc": (
        "全員に返信 (メール): お客様の直前のメールの宛先全員を Cc に"
    ),
    "Subject": "件名",
    "edit": "編集",
    "Cc/Bcc": "Cc/Bcc",
    "reply all (+{n})": "全員に返信 (+{n})",
    "sender only": "送信者のみに戻す",
    "{what} is for email: ctrl+t picks another channel": (
        "{what}はメール専用です: ctrl+t でチャネルを切り替えられます"
    ),
    "A subject": "件名",
    "Reply to all": "全員に返信",
    "The customer's last mail went to nobody else": "お客様の直前のメールはほかの誰にも送られていません",
    "Subject of the reply": "返信の件名",
    (
        "enter keep · empty: back to Re: … · esc cancel · "
        "the reply stays in the customer's conversation"
    ): "enter 決定 · 空で Re: … に戻す · esc キャンセル · 返信は同じ会話のままです",
    "Copies of the reply to {customer}": "{customer} への返信の Cc / Bcc",
    "Bcc (not shown to the others)": "Bcc (ほかの宛先には表示されません)",
    "comma separated · tab next field · enter keep · esc cancel": (
        "カンマ区切り · tab 次の欄 · enter 決定 · esc キャンセル"
    ),
    "Not an email address:": "メールアドレスではありません:",
}
