import { Global, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AccessGuard } from './access.guard';
import { TOKEN_VERIFIER } from './auth.constants';
import { TokenVerifier } from './token-verifier';

/** Access control: AUTH_MODE=off serves everyone, with a warning; jwt verifies tokens. */
@Global()
@Module({
  providers: [
    {
      provide: TOKEN_VERIFIER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): TokenVerifier | undefined =>
        config.AUTH_MODE === 'jwt' ? new TokenVerifier(config) : undefined,
    },
    AccessGuard,
  ],
  exports: [TOKEN_VERIFIER, AccessGuard],
})
export class AuthModule implements OnModuleInit {
  private readonly logger = new Logger('Auth');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  onModuleInit(): void {
    if (this.config.AUTH_MODE === 'jwt') {
      const keys = this.config.JWT_SECRET ? 'HS256 with JWT_SECRET' : `keys from ${this.config.JWT_JWKS_URL}`;
      this.logger.log(
        `AUTH_MODE=jwt: streams need their user's token, publishing the "publish" scope (${keys})`,
      );
    } else {
      this.logger.warn(
        'AUTH_MODE=off: anyone can read any stream and publish; set AUTH_MODE=jwt (and JWT_SECRET or JWT_JWKS_URL) outside a laptop',
      );
    }
  }
}
