/** Hono context variables every Leadline route can read. */
export type AppEnv = { Variables: { requestId: string } };
