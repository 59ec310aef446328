import { TransportProvider } from '@connectrpc/connect-query';
import { MutationCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createRoot } from 'react-dom/client';
import { transport } from './api.js';
import { App } from './app.js';
import './styles.css';

const queryClient: QueryClient = new QueryClient({
  defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false, staleTime: 5_000 } },
  // After any change, what is on screen is read again: a small console, simple consistency.
  mutationCache: new MutationCache({ onSuccess: () => void queryClient.invalidateQueries() }),
});

createRoot(document.getElementById('root')!).render(
  <TransportProvider transport={transport}>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </TransportProvider>,
);
