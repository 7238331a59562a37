// The portal's embeddable button (issue #23): one script tag on a shop's own site adds a
// "help" button that opens the shop's portal in a new tab. No iframe: the portal's pages
// refuse to be framed (frame-ancestors 'none'), so no other site can dress them up.
//   <script src="https://desk.example.com/help-static/embed.js" data-pack="after_sales"
//           data-label="帮助中心" data-colour="#1f6feb" async></script>
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var pack = script.getAttribute("data-pack") || "";
  if (!/^[a-z][a-z0-9_]*$/.test(pack)) { return; }
  var colour = script.getAttribute("data-colour") || "#1f6feb";
  if (!/^#[0-9a-fA-F]{6}$/.test(colour)) { colour = "#1f6feb"; }
  var link = document.createElement("a");
  link.href = new URL("/help/" + pack + "/", script.src).href;
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = script.getAttribute("data-label") || "帮助中心";
  link.setAttribute("style", "position:fixed;right:16px;bottom:16px;z-index:2147483000;" +
    "padding:12px 18px;border-radius:999px;color:#fff;text-decoration:none;font:600 15px/1 sans-serif;" +
    "box-shadow:0 2px 8px rgba(0,0,0,.25);background:" + colour);
  document.body.appendChild(link);
})();
