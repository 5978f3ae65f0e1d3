import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'parley:public';
/** Marks a route as reachable without signing in (the auth guard reads it). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
