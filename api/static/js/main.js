// The page's router: #/ (optionally ?status=&page=) is the task list, #/tasks/<id> one task.

import { clearError } from "./messages.js";
import { showList } from "./list.js";
import { showTask } from "./task.js";

const TASK_PATH = /^\/tasks\/([0-9a-fA-F-]{36})$/;
let current = null;

function route() {
  if (current) current.stop();
  clearError();
  const [path, query] = location.hash.slice(1).split("?");
  const view = document.getElementById("view");
  const match = TASK_PATH.exec(path || "");
  document.title = "facetasks";
  current = match ? showTask(view, match[1]) : showList(view, new URLSearchParams(query || ""));
  window.scrollTo(0, 0);
}

// Files dropped next to the drop zone would otherwise open in the tab and leave the page.
for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());
window.addEventListener("hashchange", route);
route();
