// Describe: the VL model answers a prompt about the current picture, streamed; then follow-up questions about it.
import { $, current, explain, showMessage } from './shared.js';

// The conversation about the current image: {role, text} turns, sent back with each follow-up (the server keeps the
// newest 5 question-answer turns and says how many it dropped).
let turns = [];

export function resetConversation() {
  turns = [];
  $('turns').replaceChildren();
  $('turns-note').textContent = '';
  $('followup').hidden = true;
}

// Posts to /api/describe and streams the answer (server-sent events over a POST) through onText, with the count of
// tokens so far; returns the `done` data (its `note` is for the caller to show beside the answer).
async function streamDescribe(body, onText) {
  const res = await fetch('/api/describe', { method: 'POST', body });
  if (!res.ok) {
    const err = await res.json().catch(() => ({}));
    throw Object.assign(new Error(err?.error?.message ?? res.statusText), {
      status: res.status, code: err?.error?.code, retryAfter: Number(res.headers.get('retry-after')) || null,
    });
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let result = null;
  let tokens = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
      if (event === 'token') onText(data.text, ++tokens);
      else if (event === 'error') showMessage(data.message);
      else if (event === 'done') result = data;
    }
  }
  return result;
}

// "Describe": a new conversation about the image, its first answer in the describe box.
// Shown in the box while the answer streams, so a slow model is seen working; the box never moves meanwhile (the
// progress and the note have their own lines in it).
const STOPS = { eos: '', length: ', stopped at the token limit' };
async function describe() {
  if (!current.file) return;
  const out = $('description');
  const progress = $('describe-progress');
  out.textContent = '';
  $('describe-note').textContent = '';
  progress.textContent = 'waiting for the model…';
  delete out.dataset.done;
  resetConversation();
  showMessage('');
  const body = new FormData();
  body.append('image', current.file);
  const prompt = $('describe-prompt').value.trim();
  if (prompt) body.append('prompt', prompt);
  $('describe-button').disabled = true;
  try {
    const done = await streamDescribe(body, (text, n) => {
      out.textContent += text;
      progress.textContent = `writing… ${n} ${n === 1 ? 'token' : 'tokens'}`;
    });
    progress.textContent = done
      ? `${done.nTokens} tokens in ${(done.tookMs / 1000).toFixed(1)} s${STOPS[done.stop] ?? `, ${done.stop}`}` : '';
    if (done) {
      $('describe-note').textContent = done.note ? `Note: ${done.note}.` : '';
      out.dataset.done = done.stop;
      const asked = prompt || $('describe-prompt').placeholder;
      turns = [{ role: 'user', text: asked }, { role: 'assistant', text: done.text }];
      $('followup').hidden = false;
    }
  } catch (err) {
    progress.textContent = '';
    showMessage(...explain(err));
  } finally {
    $('describe-button').disabled = false;
  }
}

// A follow-up question about the same image: the turns so far go with it; the answer is streamed into a new turn.
async function followUp() {
  const question = $('followup-text').value.trim();
  if (!current.file || !question || !turns.length) return;
  showMessage('');
  const item = document.createElement('li');
  const q = document.createElement('p');
  q.className = 'q';
  q.textContent = question;
  const a = document.createElement('p');
  a.className = 'a';
  item.append(q, a);
  $('turns').append(item);
  const body = new FormData();
  body.append('image', current.file);
  body.append('prompt', question);
  body.append('history', JSON.stringify(turns));
  $('followup-button').disabled = true;
  try {
    const done = await streamDescribe(body, (text) => { a.textContent += text; });
    if (done) {
      item.dataset.done = done.stop;
      item.dataset.kept = done.keptTurns; // the earlier turns the model saw
      turns.push({ role: 'user', text: question }, { role: 'assistant', text: done.text });
      const dropped = done.droppedTurns;
      $('turns-note').textContent = dropped
        ? `The model saw the last ${done.keptTurns} turns; ${dropped} earlier ${dropped === 1 ? 'was' : 'were'} ` +
          'left out.' : '';
      $('followup-text').value = '';
    }
  } catch (err) {
    item.remove();
    showMessage(...explain(err));
  } finally {
    $('followup-button').disabled = false;
  }
}

export function wireDescribe() {
  $('describe').addEventListener('submit', (e) => { e.preventDefault(); describe(); });
  $('followup').addEventListener('submit', (e) => { e.preventDefault(); followUp(); });
}
