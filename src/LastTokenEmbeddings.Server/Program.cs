using LastTokenEmbeddings.AspNetCore;
using LastTokenEmbeddings.Server;

// Before anything loads libtorch: its OpenMP threads must not spin on the cores the request threads need.
ServingEnvironment.PreferPassiveOpenMPWaiting();
return await ServerApp.RunAsync(args).ConfigureAwait(false);
