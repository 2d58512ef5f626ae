// The size budget: the built widget must stay at or under 50 KB gzipped.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { checkBudget, LIMIT_BYTES } from "../src/size";

const file = fileURLToPath(new URL("../../omnidesk/channels/webchat/static/widget.js", import.meta.url));
const result = checkBudget(readFileSync(file), LIMIT_BYTES);
console.log(result.report);
if (!result.ok) process.exit(1);
