using LastTokenEmbeddings.Server;

return await ServerApp.RunAsync(args).ConfigureAwait(false);
