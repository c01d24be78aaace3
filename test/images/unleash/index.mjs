// Unleash reads its database, port and initial tokens from the environment.
import { start } from 'unleash-server';

await start();
