/** The widget's styles: they live in its shadow root and touch nothing on the host page. */

export const CSS = `
:host{all:initial}
*,*::before,*::after{box-sizing:border-box}
.od{--od-accent:#2563eb;--od-on-accent:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Apple Color Emoji","Segoe UI Emoji",sans-serif;color:#111827;-webkit-font-smoothing:antialiased}
button,input,textarea,select{font:inherit;color:inherit}
.launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:var(--od-accent);color:var(--od-on-accent);box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer;display:flex;align-items:center;justify-content:center;z-index:2147483000;padding:0}
.launcher:focus-visible,.btn:focus-visible,.icon:focus-visible,.rate:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.launcher svg{width:28px;height:28px;fill:currentColor}
.badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center}
.badge[hidden]{display:none}
.panel{position:fixed;right:20px;bottom:88px;width:370px;height:min(600px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.22);display:flex;flex-direction:column;overflow:hidden;z-index:2147483001}
.panel[hidden]{display:none}
.head{background:var(--od-accent);color:var(--od-on-accent);padding:14px 12px 12px 16px;display:flex;align-items:flex-start;gap:8px}
.head .titles{flex:1;min-width:0}
.title{font-size:16px;font-weight:600;margin:0;overflow-wrap:anywhere}
.sub{font-size:12px;opacity:.9;margin:2px 0 0}
.icon{background:transparent;border:0;color:inherit;cursor:pointer;width:36px;height:36px;border-radius:8px;display:flex;align-items:center;justify-content:center;padding:0;flex:none}
.icon:hover{background:rgba(0,0,0,.08)}
.icon svg{width:20px;height:20px;fill:currentColor}
.banner{background:#fef3c7;color:#92400e;font-size:12px;padding:6px 12px}
.banner[hidden]{display:none}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f9fafb;overscroll-behavior:contain}
.msg{max-width:82%;display:flex;flex-direction:column}
.msg.in{align-self:flex-end;align-items:flex-end}
.msg.out{align-self:flex-start;align-items:flex-start}
.msg.sys{align-self:center;max-width:90%;text-align:center;color:#6b7280;font-size:12px}
.who{font-size:11px;color:#6b7280;margin:0 4px 2px}
.bubble{padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}
.in .bubble{background:var(--od-accent);color:var(--od-on-accent);border-bottom-right-radius:4px}
.out .bubble{background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}
.greeting .bubble{background:#fff;border:1px solid #e5e7eb}
.bubble a{color:inherit;text-decoration:underline;display:block}
.meta{font-size:11px;color:#6b7280;margin:2px 4px 0}
.msg.failed .meta{color:#b91c1c}
.linkbtn{background:none;border:0;color:#1d4ed8;text-decoration:underline;cursor:pointer;padding:0;font-size:11px;margin-left:4px}
.typing{font-size:12px;color:#6b7280;padding:2px 16px 6px;background:#f9fafb;min-height:0}
.typing[hidden]{display:none}
.composer{display:flex;align-items:flex-end;gap:6px;border-top:1px solid #e5e7eb;padding:8px;background:#fff}
.composer[hidden]{display:none}
.composer textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:10px;padding:8px 10px;min-height:38px;max-height:120px;outline:none;background:#fff}
.composer textarea:focus{border-color:var(--od-accent);box-shadow:0 0 0 2px rgba(37,99,235,.2)}
.composer .icon{color:#4b5563}
.send{color:var(--od-accent)!important}
.notice{font-size:12px;color:#b91c1c;padding:4px 12px;background:#fff}
.notice[hidden]{display:none}
.form{padding:14px 16px;display:flex;flex-direction:column;gap:10px;overflow-y:auto;background:#fff;border-top:1px solid #e5e7eb}
.form[hidden]{display:none}
.form p{margin:0}
.form label{display:flex;flex-direction:column;gap:4px;font-size:13px;font-weight:500}
.form input,.form select,.form textarea{border:1px solid #d1d5db;border-radius:8px;padding:8px 10px;font-weight:400;background:#fff}
.form textarea{min-height:80px;resize:vertical}
.form .err{color:#b91c1c;font-size:12px;font-weight:400}
.btn{background:var(--od-accent);color:var(--od-on-accent);border:0;border-radius:8px;padding:9px 14px;font-weight:600;cursor:pointer}
.btn[disabled]{opacity:.6;cursor:default}
.rates{display:flex;gap:6px}
.rate{flex:1;border:1px solid #d1d5db;background:#fff;border-radius:8px;padding:8px 0;cursor:pointer;font-weight:600}
.rate[aria-pressed="true"]{background:var(--od-accent);color:var(--od-on-accent);border-color:var(--od-accent)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){
.panel{right:0;bottom:0;width:100vw;height:100%;max-height:100dvh;border-radius:0}
.launcher{right:14px;bottom:14px}
.od.opened .launcher{display:none}
.composer textarea{font-size:16px}
}
@media (prefers-reduced-motion:no-preference){.launcher{transition:transform .15s}.launcher:hover{transform:scale(1.05)}}
`;
