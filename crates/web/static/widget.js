/* Otklik widget. A site adds:
     <script src="https://PLATFORM/widget.js" data-org="ORG_ID" async></script>
   and optionally data-container="ELEMENT_ID". The button lives in a Shadow DOM; the form
   opens in a dialog, in a frame served by the platform: the citizen's session and data
   never touch the host page. No dependencies. See docs/WIDGET.md. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;

  // Inside the platform's own frame: Esc asks the host page to close the dialog.
  if (script.hasAttribute('data-frame')) {
    var host = script.getAttribute('data-origin');
    if (host && window.parent !== window) {
      document.addEventListener('keydown', function (e) {
        if (e.key === 'Escape' && !e.defaultPrevented) {
          window.parent.postMessage('otklik:close', host);
        }
      });
    }
    return;
  }

  var org = script.getAttribute('data-org') || '';
  if (!/^[0-9]{1,18}$/.test(org)) {
    if (window.console) console.error('Отклик: укажите в data-org номер организации');
    return;
  }
  var platform = new URL(script.src, location.href).origin;
  var containerId = script.getAttribute('data-container');
  var TITLE = 'Сообщить о проблеме';
  // The host page's style sheets do not reach into the Shadow DOM, but inherited
  // properties pass through the host element (even with !important): the button and the
  // dialog set them all. Sizes in em of a font of at least the browser's default; colours
  // meet WCAG AA (the portal's palette).
  var CSS =
    ':host{all:initial;display:block;margin:16px 0}' +
    ':host([data-float]){position:fixed;right:16px;bottom:16px;margin:0;z-index:2147483000}' +
    '.open,dialog{font:400 max(1rem,16px)/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;' +
    'color:#1b1f24;letter-spacing:normal;word-spacing:normal;text-transform:none;text-align:left;' +
    'text-indent:0;text-shadow:none;white-space:normal;visibility:visible}' +
    'button{font-family:inherit;font-size:inherit;line-height:1.5;font-weight:600;cursor:pointer;' +
    'margin:0;min-height:2.75em;border-radius:.375em;border:2px solid #1747a6}' +
    '.open{font-weight:600;background:#1747a6;color:#fff;padding:.5em 1.5em;' +
    'box-shadow:0 .125em .5em rgba(0,0,0,.25)}' +
    '.open:hover{background:#0f3276}' +
    '.close{background:#fff;color:#1747a6;padding:.25em 1em}' +
    '.close:hover{background:#e8eefb}' +
    'button:focus-visible{outline:3px solid #b54708;outline-offset:2px}' +
    'dialog{box-sizing:border-box;width:min(42em,calc(100vw - 1em));height:min(48em,calc(100vh - 1em));' +
    'max-width:none;max-height:none;margin:auto;padding:0;border:1px solid #c9d0d9;' +
    'border-radius:.5em;background:#fff;overflow:hidden}' +
    'dialog[open]{display:flex;flex-direction:column}' +
    'dialog::backdrop{background:rgba(0,0,0,.55)}' +
    '.head{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;' +
    'gap:.5em;padding:.5em 1em;border-bottom:1px solid #c9d0d9}' +
    'h2{margin:0;font-size:1.25em;line-height:1.25}' +
    'iframe{display:block;flex:1 1 auto;width:100%;min-height:0;border:0;background:#fff}' +
    '@media (forced-colors:active){button{border-color:ButtonText}}';

  function make(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }

  var widget = make('otklik-widget', {});
  var root = widget.attachShadow({ mode: 'open' });
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    root.appendChild(make('style', {}, CSS));
  }
  var open = make('button', { type: 'button', 'class': 'open', 'aria-haspopup': 'dialog' }, TITLE);
  var dialog = make('dialog', { 'aria-labelledby': 'otklik-title' });
  var head = make('div', { 'class': 'head' });
  var close = make('button', { type: 'button', 'class': 'close' }, 'Закрыть');
  head.appendChild(make('h2', { id: 'otklik-title' }, TITLE));
  head.appendChild(close);
  dialog.appendChild(head);
  root.appendChild(open);
  root.appendChild(dialog);
  var frame = null;

  open.addEventListener('click', function () {
    if (!frame) {
      // Loaded on first use only: a visitor who never opens the form sends nothing more.
      frame = make('iframe', {
        title: 'Форма обратной связи',
        src: platform + '/widget/' + org + '?origin=' + encodeURIComponent(location.origin)
      });
      dialog.appendChild(frame);
    }
    dialog.showModal();
    close.focus();
  });
  close.addEventListener('click', function () { dialog.close(); });
  // Esc on the dialog itself closes it natively; either way focus goes back.
  dialog.addEventListener('close', function () { open.focus(); });
  window.addEventListener('message', function (e) {
    if (frame && e.source === frame.contentWindow && e.origin === platform &&
        e.data === 'otklik:close' && dialog.open) {
      dialog.close();
    }
  });

  function place() {
    var target = containerId && document.getElementById(containerId);
    if (target) {
      target.appendChild(widget);
    } else if (script.isConnected && script.parentNode && script.parentNode !== document.head) {
      script.parentNode.insertBefore(widget, script.nextSibling);
    } else {
      widget.setAttribute('data-float', '');
      document.body.appendChild(widget);
    }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', place);
  } else {
    place();
  }
})();
