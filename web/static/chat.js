// The portal's chat box (issue #23): asks /help/<pack>/chat/ask, shows articles or an order's
// status, counts votes, and hands the chat over to a person with every line said so far.
// Only the server's sanitised snippet and article body go in as HTML; the rest is text.
// The box's lines carry the server's signature: a hand-over files only those as its answers.
(function () {
  "use strict";
  const box = document.getElementById("chat");
  if (!box) return;
  const log = document.getElementById("chat-log");
  const ask = document.getElementById("chat-ask");
  const question = document.getElementById("chat-question");
  const handover = document.getElementById("chat-handover");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const turns = [];
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  const chatId = "chat-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  let handedOver = false;
  // Half an order query (the number, or the phone) waits for the other half in the next line.
  let pending = "";

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body),
      credentials: "same-origin",
    }).then((response) =>
      response
        .json()
        .catch(() => ({ error: box.dataset.failed }))
        .then((data) => ({ ok: response.ok, data: data })),
    );
  }

  function say(who, text) {
    const item = document.createElement("li");
    item.className = "turn " + who;
    const line = document.createElement("p");
    line.textContent = text;
    item.appendChild(line);
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function personButton(item) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link person";
    button.textContent = box.dataset.person;
    button.addEventListener("click", openHandover);
    item.appendChild(button);
  }

  function article(item, found, asked) {
    const card = document.createElement("details");
    card.className = "article";
    const title = document.createElement("summary");
    title.textContent = found.title;
    const snippet = document.createElement("p");
    snippet.className = "snippet";
    snippet.innerHTML = found.snippet; // escaped by the server; only <mark> is markup
    const body = document.createElement("div");
    body.className = "body";
    body.innerHTML = found.body_html; // rendered and sanitised by the server's Markdown
    const votes = document.createElement("p");
    votes.className = "votes";
    [[true, box.dataset.helpful], [false, box.dataset.unhelpful]].forEach(([helpful, label]) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = helpful ? "vote helpful" : "vote unhelpful";
      button.textContent = label;
      button.addEventListener("click", () => vote(found, asked, helpful, votes));
      votes.appendChild(button);
    });
    card.append(title, snippet, body, votes);
    item.appendChild(card);
  }

  function vote(found, asked, helpful, votes) {
    votes.querySelectorAll("button").forEach((b) => (b.disabled = true));
    post(box.dataset.vote, { article_id: found.id, question: asked, helpful: helpful }).then(
      (reply) => {
        const text = reply.data.text || reply.data.error || box.dataset.failed;
        if (reply.data.sig) turns.push({ who: "bot", text: text, sig: reply.data.sig });
        const item = say("bot", text);
        if (!helpful) personButton(item);
      },
    );
  }

  function answer(reply, asked) {
    const text = reply.data.error || reply.data.text || box.dataset.failed;
    if (reply.data.sig) turns.push({ who: "bot", text: text, sig: reply.data.sig });
    const item = say("bot", text);
    (reply.data.articles || []).forEach((found) => {
      turns.push({ who: "bot", text: found.title, sig: found.title_sig });
      article(item, found, asked);
    });
    if (reply.data.offer_person) personButton(item);
  }

  function openHandover() {
    if (handedOver) return;
    handover.hidden = false;
    handover.querySelector("input").focus();
  }

  ask.addEventListener("submit", (event) => {
    event.preventDefault();
    const asked = question.value.trim();
    if (!asked) return;
    question.value = "";
    turns.push({ who: "customer", text: asked });
    say("customer", asked);
    const sent = pending ? pending + " " + asked : asked;
    pending = "";
    post(box.dataset.ask, { question: sent.slice(-500) })
      .then((reply) => {
        if (reply.data.kind === "order_incomplete") pending = sent;
        answer(reply, asked);
      })
      .catch(() => say("bot", box.dataset.failed));
  });

  document.getElementById("chat-person-open").addEventListener("click", openHandover);

  handover.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!turns.some((t) => t.who === "customer")) {
      question.focus();
      return;
    }
    const data = new FormData(handover);
    const body = {
      chat_id: chatId,
      contact: String(data.get("contact") || ""),
      name: String(data.get("name") || ""),
      turns: turns.slice(-40),
    };
    post(box.dataset.handover, body)
      .then((reply) => {
        say("bot", reply.data.error || reply.data.text);
        if (reply.ok) {
          handedOver = true;
          handover.hidden = true;
          box.classList.add("handed-over");
        }
      })
      .catch(() => say("bot", box.dataset.failed));
  });
})();
