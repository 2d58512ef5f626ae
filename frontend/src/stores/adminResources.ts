// The settings the admin console manages, each a collection over its typed API calls.
// Created once and shared: a skill made in "Skills" is at once a choice in "Queues".
import { api, ok, type Schemas } from "../api/client";
import { createCollection, type Values } from "./admin";

export type InboxRow = Schemas["InboxOut"] & { secret?: string | null };
export type UserRow = Schemas["UserOut"];
export type Team = Schemas["TeamOut"];
export type Skill = Schemas["SkillOut"];
export type Profile = Schemas["ProfileOut"];
export type Queue = Schemas["QueueOut"];
export type Rule = Schemas["RuleOut"];
export type Hours = Schemas["BusinessHoursOut"];
export type AwayReasonRow = Schemas["AwayReasonOut"];
export type Canned = Schemas["CannedResponseOut"];
export type Attribute = Schemas["AttributeDefinitionOut"];
export type TicketFormRow = Schemas["TicketFormOut"];
export type CategoryRuleRow = Schemas["CategoryRuleOut"];
export type Token = Schemas["ApiTokenOut"] & { token?: string };
export type Job = Schemas["JobOut"];
export type SlaPolicy = Schemas["SlaPolicyOut"];
export type AgentRouting = Schemas["AgentOut"];
export type CheckReport = Schemas["InboxCheckReport"];
export type Embed = Schemas["EmbedOut"];
export type Macro = Schemas["MacroOut"];
export type AutomationRule = Schemas["AutomationRuleOut"];

// The forms build bodies from their fields; the server checks them (and says which field).
type Body = any;

export const inboxes = createCollection<InboxRow>({
  list: () => ok(api.GET("/api/v1/inboxes")),
  create: (body: Values) => ok(api.POST("/api/v1/inboxes", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/inboxes/{inbox_id}", { params: { path: { inbox_id: item.id } }, body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/inboxes/{inbox_id}", { params: { path: { inbox_id: item.id } } }));
  },
});

export const users = createCollection<UserRow>({
  list: () => ok(api.GET("/api/v1/users")),
  create: (body) => ok(api.POST("/api/v1/users", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: item.id } }, body: body as Body })),
  // Users are never deleted: deactivated, they keep their history.
  remove: (item) =>
    ok(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: item.id } }, body: { active: false } })),
});

export const teams = createCollection<Team>({
  list: () => ok(api.GET("/api/v1/teams")),
  create: (body) => ok(api.POST("/api/v1/teams", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/teams/{team_id}", { params: { path: { team_id: item.id } }, body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/teams/{team_id}", { params: { path: { team_id: item.id } } }));
  },
});

export const skills = createCollection<Skill>({
  list: () => ok(api.GET("/api/v1/routing/skills")),
  create: (body) => ok(api.POST("/api/v1/routing/skills", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/routing/skills/{skill_id}", { params: { path: { skill_id: item.id } }, body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/routing/skills/{skill_id}", { params: { path: { skill_id: item.id } } }));
  },
});

export const profiles = createCollection<Profile>({
  list: () => ok(api.GET("/api/v1/routing/profiles")),
  create: (body) => ok(api.POST("/api/v1/routing/profiles", { body: body as Body })),
  update: (item, body) =>
    ok(
      api.PATCH("/api/v1/routing/profiles/{profile_id}", {
        params: { path: { profile_id: item.id } },
        body: body as Body,
      }),
    ),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/routing/profiles/{profile_id}", { params: { path: { profile_id: item.id } } }));
  },
});

export const queues = createCollection<Queue>({
  list: () => ok(api.GET("/api/v1/routing/queues")),
  create: (body) => ok(api.POST("/api/v1/routing/queues", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/routing/queues/{queue_id}", { params: { path: { queue_id: item.id } }, body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/routing/queues/{queue_id}", { params: { path: { queue_id: item.id } } }));
  },
});

export const rules = createCollection<Rule>({
  list: () => ok(api.GET("/api/v1/routing/rules")),
  create: (body) => ok(api.POST("/api/v1/routing/rules", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/routing/rules/{rule_id}", { params: { path: { rule_id: item.id } }, body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/routing/rules/{rule_id}", { params: { path: { rule_id: item.id } } }));
  },
});

export const hours = createCollection<Hours>({
  list: () => ok(api.GET("/api/v1/routing/business-hours")),
  create: (body) => ok(api.POST("/api/v1/routing/business-hours", { body: body as Body })),
  update: (item, body) =>
    ok(
      api.PATCH("/api/v1/routing/business-hours/{business_hours_id}", {
        params: { path: { business_hours_id: item.id } },
        body: body as Body,
      }),
    ),
  remove: async (item) => {
    await ok(
      api.DELETE("/api/v1/routing/business-hours/{business_hours_id}", {
        params: { path: { business_hours_id: item.id } },
      }),
    );
  },
});

export const slaPolicies = createCollection<SlaPolicy>({
  list: () => ok(api.GET("/api/v1/sla/policies")),
  create: (body) => ok(api.POST("/api/v1/sla/policies", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/sla/policies/{policy_id}", { params: { path: { policy_id: item.id } }, body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/sla/policies/{policy_id}", { params: { path: { policy_id: item.id } } }));
  },
});

export const macros = createCollection<Macro>({
  list: () => ok(api.GET("/api/v1/automation/macros")),
  create: (body) => ok(api.POST("/api/v1/automation/macros", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/automation/macros/{macro_id}", { params: { path: { macro_id: item.id } }, body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/automation/macros/{macro_id}", { params: { path: { macro_id: item.id } } }));
  },
});

export const automationRules = createCollection<AutomationRule>({
  list: () => ok(api.GET("/api/v1/automation/rules")),
  create: (body) => ok(api.POST("/api/v1/automation/rules", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/automation/rules/{rule_id}", { params: { path: { rule_id: item.id } }, body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/automation/rules/{rule_id}", { params: { path: { rule_id: item.id } } }));
  },
});

export const awayReasons = createCollection<AwayReasonRow>({
  list: () => ok(api.GET("/api/v1/routing/away-reasons")),
  create: (body) => ok(api.POST("/api/v1/routing/away-reasons", { body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/routing/away-reasons/{reason_id}", { params: { path: { reason_id: item.id } } }));
  },
});

export const canned = createCollection<Canned>({
  list: async () => (await ok(api.GET("/api/v1/canned-responses", { params: { query: { limit: 200 } } }))).items,
  create: (body) => ok(api.POST("/api/v1/canned-responses", { body: body as Body })),
  update: (item, body) =>
    ok(
      api.PATCH("/api/v1/canned-responses/{canned_response_id}", {
        params: { path: { canned_response_id: item.id } },
        body: body as Body,
      }),
    ),
  remove: async (item) => {
    await ok(
      api.DELETE("/api/v1/canned-responses/{canned_response_id}", {
        params: { path: { canned_response_id: item.id } },
      }),
    );
  },
});

export const attributes = createCollection<Attribute>({
  list: () => ok(api.GET("/api/v1/attribute-definitions")),
  create: (body) => ok(api.POST("/api/v1/attribute-definitions", { body: body as Body })),
  update: (item, body) =>
    ok(
      api.PATCH("/api/v1/attribute-definitions/{definition_id}", {
        params: { path: { definition_id: item.id } },
        body: body as Body,
      }),
    ),
  remove: async (item) => {
    await ok(
      api.DELETE("/api/v1/attribute-definitions/{definition_id}", { params: { path: { definition_id: item.id } } }),
    );
  },
});

export const ticketForms = createCollection<TicketFormRow>({
  list: () => ok(api.GET("/api/v1/ticket-forms")),
  create: (body) => ok(api.POST("/api/v1/ticket-forms", { body: body as Body })),
  update: (item, body) =>
    ok(api.PATCH("/api/v1/ticket-forms/{form_id}", { params: { path: { form_id: item.id } }, body: body as Body })),
  remove: async (item) => {
    await ok(api.DELETE("/api/v1/ticket-forms/{form_id}", { params: { path: { form_id: item.id } } }));
  },
});

export const categoryRules = createCollection<CategoryRuleRow>({
  list: () => ok(api.GET("/api/v1/category-rules")),
  create: (body) => ok(api.POST("/api/v1/category-rules", { body: body as Body })),
  update: (item, body) =>
    ok(
      api.PATCH("/api/v1/category-rules/{category_rule_id}", {
        params: { path: { category_rule_id: item.id } },
        body: body as Body,
      }),
    ),
  remove: async (item) => {
    await ok(
      api.DELETE("/api/v1/category-rules/{category_rule_id}", { params: { path: { category_rule_id: item.id } } }),
    );
  },
});

export const tokens = createCollection<Token>({
  list: () => ok(api.GET("/api/v1/api-tokens")),
  create: (body) => ok(api.POST("/api/v1/api-tokens", { body: body as Body })),
  // Revoked tokens stay listed, marked revoked.
  remove: (item) => ok(api.DELETE("/api/v1/api-tokens/{token_id}", { params: { path: { token_id: item.id } } })),
});

export const jobs = createCollection<Job>({
  list: async () => (await ok(api.GET("/api/v1/jobs", { params: { query: { limit: 100 } } }))).items,
});

export async function retryJob(job: Job): Promise<void> {
  const fresh = await ok(api.POST("/api/v1/jobs/{job_id}/retry", { params: { path: { job_id: job.id } } }));
  const at = jobs.state.items.findIndex((j) => j.id === job.id);
  if (at >= 0) jobs.state.items.splice(at, 1, fresh);
}

// Inboxes' extras ------------------------------------------------------------------------

export function checkInbox(inboxId: number): Promise<CheckReport> {
  return ok(api.POST("/api/v1/inboxes/{inbox_id}/check", { params: { path: { inbox_id: inboxId } } }));
}

/** A WhatsApp inbox's message templates fetched again from Meta. */
export function syncTemplates(inboxId: number): Promise<Schemas["TemplateSyncOut"]> {
  return ok(api.POST("/api/v1/inboxes/{inbox_id}/templates/sync", { params: { path: { inbox_id: inboxId } } }));
}

export function rotateSecret(inboxId: number): Promise<InboxRow> {
  return ok(api.POST("/api/v1/inboxes/{inbox_id}/rotate-secret", { params: { path: { inbox_id: inboxId } } }));
}

export type TelegramRegistration = Schemas["TelegramRegistration"];

/** Point a Telegram bot's updates at its inbox (setWebhook); the bot's @username comes back. */
export function registerTelegram(inboxId: number): Promise<TelegramRegistration> {
  return ok(api.POST("/api/v1/inboxes/{inbox_id}/telegram/register", { params: { path: { inbox_id: inboxId } } }));
}

export function embedOf(inboxId: number): Promise<Embed> {
  return ok(api.GET("/api/v1/inboxes/{inbox_id}/webchat", { params: { path: { inbox_id: inboxId } } }));
}

// Agents' routing ------------------------------------------------------------------------

export async function agentRouting(userId: number): Promise<AgentRouting> {
  return ok(api.GET("/api/v1/routing/agents/{user_id}", { params: { path: { user_id: userId } } }));
}

export async function setAgentRouting(
  userId: number,
  levels: { skill_id: number; level: number }[],
  profileId: number | null,
): Promise<AgentRouting> {
  await ok(
    api.PUT("/api/v1/routing/agents/{user_id}/skills", {
      params: { path: { user_id: userId } },
      body: { skills: levels },
    }),
  );
  return ok(
    api.PUT("/api/v1/routing/agents/{user_id}/profile", {
      params: { path: { user_id: userId } },
      body: { profile_id: profileId },
    }),
  );
}

export async function channels(): Promise<string[]> {
  return (await ok(api.GET("/api/v1/routing/channels"))).channels;
}

// Choices for the forms ------------------------------------------------------------------

type Named = { id: number; name: string };
const choices = (items: readonly Named[]) => items.map((i) => ({ value: i.id, label: i.name }));

export const skillOptions = () => choices(skills.state.items);
export const inboxOptions = () => choices(inboxes.state.items);
export const userOptions = () => choices(users.state.items.filter((u) => u.active));
export const teamOptions = () => choices(teams.state.items);
export const queueOptions = (none: string) => [{ value: null, label: none }, ...choices(queues.state.items)];
export const hoursOptions = (none: string) => [{ value: null, label: none }, ...choices(hours.state.items)];
export const profileOptions = (none: string) => [{ value: null, label: none }, ...choices(profiles.state.items)];

export function skillNames(levels: readonly { skill_id: number; min_level?: number; level?: number }[]): string {
  return levels
    .map((r) => `${skills.state.items.find((s) => s.id === r.skill_id)?.name ?? "#" + String(r.skill_id)} ≥ ${String(r.min_level ?? r.level)}`)
    .join(", ");
}
